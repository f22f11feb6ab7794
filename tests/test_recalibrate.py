"""Base-rate check and recalibration: the map from margin to probability is refitted alone."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from typer.testing import CliRunner

import churnpredict as cp
import churnpredict._labels  # noqa: F401
from churnpredict import cli

GEN = dict(n_customers=3000, growth=1.0, price_rise_at=None)
AS_OF = pd.Timestamp("2024-10-01")  # training
LATER = pd.Timestamp("2024-12-01")  # recalibration: the latest complete cutoff is 2024-11-03


def test_base_rate_check_by_hand():
    check = cp.base_rate_check([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], [0.38] * 10)
    assert check["mean_predicted"] == pytest.approx(0.38)
    assert check["observed_rate"] == pytest.approx(0.2)
    assert check["ratio"] == pytest.approx(1.9) and check["relative_gap"] == pytest.approx(0.9)
    assert not check["ok"] and "recalibrate" in check["message"]
    fine = cp.base_rate_check([1, 0, 0, 0, 0], [0.21, 0.2, 0.2, 0.2, 0.2])
    assert fine["ok"] and "recalibrate" not in fine["message"]
    assert "1% above" in fine["message"]


@pytest.fixture(scope="module")
def shifted():
    """A model trained when churn ran high, and a later population churning less than half."""
    train = cp.make_subscription_data(random_state=1, churn_scale=3.0, **GEN)
    pipe = cp.ChurnPipeline(model=cp.ChurnModel(n_estimators=40, n_jobs=1), n_cutoffs=6)
    pipe.fit(train, as_of=AS_OF)
    new = cp.make_subscription_data(random_state=2, churn_scale=1.5, **GEN)
    return pipe, new


def _latest_complete(pipe):
    return LATER - pipe.horizon_


def test_recalibration_brings_the_mean_back_without_changing_the_ranking(shifted):
    fitted, new = shifted
    pipe = copy.deepcopy(fitted)
    cutoff = _latest_complete(pipe)
    before = pipe.evaluate(new, cutoff)
    check = cp.base_rate_check(before.scores["churned"], before.scores["churn_probability"])
    assert check["observed_rate"] < 0.5 * pipe.training_summary_["positive_rate"]
    assert check["ratio"] > 1.4 and not check["ok"]  # the probabilities run high
    X = pipe.features(new, cutoff)
    margin = pipe.model_.decision_function(X)
    old_id = pipe.model_id_

    assert pipe.recalibrate(new, LATER) is pipe
    after = pipe.evaluate(new, cutoff)
    check = cp.base_rate_check(after.scores["churned"], after.scores["churn_probability"])
    assert abs(check["mean_predicted"] / check["observed_rate"] - 1) <= 0.10
    # trees unchanged: same margins, hence the same order of every customer
    assert np.array_equal(pipe.model_.decision_function(X), margin)
    p0 = before.scores["churn_probability"]
    p1 = after.scores["churn_probability"].reindex(p0.index)
    assert np.array_equal(
        np.argsort(p0.to_numpy(), kind="stable"), np.argsort(p1.to_numpy(), kind="stable")
    )
    assert spearmanr(p0, p1).statistic == pytest.approx(1.0)
    assert after.metrics["auc"] == pytest.approx(before.metrics["auc"], abs=1e-9)
    # the model id says which calibration a list came from
    assert pipe.model_id_ != old_id
    assert pipe.score(new, cutoff, explain=False).attrs["model_id"] == pipe.model_id_
    info = pipe.recalibration_
    assert info["cutoffs"][-1] == cutoff.isoformat() and len(info["cutoffs"]) == 3
    assert info["mean_probability_after"] == pytest.approx(info["observed_rate"], rel=0.05)
    assert info["mean_probability_before"] > 1.4 * info["observed_rate"]


def test_recalibrated_bundle_is_a_new_version(shifted, tmp_path):
    fitted, new = shifted
    path = fitted.save(tmp_path / "model")
    first = json.loads((path / "CURRENT").read_text(encoding="utf-8"))
    pipe = cp.ChurnPipeline.load(path).recalibrate(new, LATER)
    pipe.save(path)
    second = json.loads((path / "CURRENT").read_text(encoding="utf-8"))
    assert first != second
    back = cp.ChurnPipeline.load(path)
    assert back.model_id_ == pipe.model_id_ != fitted.model_id_
    assert back.recalibration_ == pipe.recalibration_
    cutoff = _latest_complete(pipe)
    assert np.allclose(
        back.score(new, cutoff, explain=False)["churn_probability"],
        pipe.score(new, cutoff, explain=False)["churn_probability"],
    )
    # the score reference follows the new calibration: no score drift on those rows
    assert back.reference_["score"] == pipe.reference_["score"] != fitted.reference_["score"]


def test_recalibrate_refuses_what_it_cannot_do(shifted):
    fitted, new = shifted
    with pytest.raises(cp.ChurnDataError, match="no cutoff"):
        copy.deepcopy(fitted).recalibrate(new, "2023-01-10")
    baseline = cp.ChurnPipeline(model=cp.LogisticBaseline(), n_cutoffs=3).fit(new, as_of=AS_OF)
    with pytest.raises(cp.ChurnModelError, match="no calibration map"):
        baseline.recalibrate(new, LATER)


def _data_dir(data, folder):
    folder.mkdir(parents=True)
    data.customers.to_parquet(folder / "customers.parquet")
    for name in ("activity", "payments", "tickets"):
        getattr(data, name).to_parquet(folder / f"{name}.parquet")
    return folder


@pytest.mark.slow
def test_recalibrate_and_evaluate_commands(shifted, tmp_path):
    fitted, new = shifted
    model = fitted.save(tmp_path / "model")
    folder = _data_dir(new, tmp_path / "data")
    runner = CliRunner()
    cutoff = f"{_latest_complete(fitted):%Y-%m-%d}"
    result = runner.invoke(
        cli.app, ["evaluate", str(folder), "--model", str(model), "--as-of", cutoff]
    )
    assert result.exit_code == 0, result.output
    assert "Base rate:" in result.output and "recalibrate" in result.output
    result = runner.invoke(
        cli.app, ["recalibrate", str(folder), "--model", str(model), "--as-of", f"{LATER:%Y-%m-%d}"]
    )
    assert result.exit_code == 0, result.output
    new_id = cp.ChurnPipeline.load(model).model_id_
    assert new_id != fitted.model_id_ and new_id in result.output
    result = runner.invoke(
        cli.app, ["evaluate", str(folder), "--model", str(model), "--as-of", cutoff]
    )
    assert result.exit_code == 0 and "recalibrate" not in result.output.split("Base rate:")[1]
    out = tmp_path / "at_risk.csv"
    result = runner.invoke(
        cli.app,
        [
            "score",
            str(folder),
            "--model",
            str(model),
            "--as-of",
            f"{LATER:%Y-%m-%d}",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_name("at_risk.manifest.json").read_text(encoding="utf-8"))
    assert manifest["model_id"] == new_id
    bad = runner.invoke(
        cli.app, ["recalibrate", str(folder), "--model", str(model), "--as-of", "2023-01-10"]
    )
    assert bad.exit_code == 2


@pytest.mark.slow
def test_report_states_the_base_rate_on_the_latest_complete_cutoff(shifted, tmp_path):
    fitted, new = shifted
    pipe = copy.deepcopy(fitted)
    end = new.time_range[1]
    page = cp.write_report(pipe, new, end, tmp_path / "report").read_text(encoding="utf-8")
    cutoff = (end - pipe.horizon_).floor("D")
    assert f"on the customers active on {cutoff:%Y-%m-%d}" in page
    assert 'id=base-rate class="note"' in page and "recalibrate" in page
    pipe.recalibrate(new, end)
    page = cp.write_report(pipe, new, end, tmp_path / "after").read_text(encoding="utf-8")
    assert "<p id=base-rate><b>Base rate</b>" in page


def test_recalibration_refuses_outcomes_past_the_data(shifted):
    pipe = copy.deepcopy(shifted[0])
    new = shifted[1]
    end = new.time_range[1]
    with pytest.raises(cp.ChurnDataError, match="data ends at"):
        pipe.recalibrate(new, end + pd.Timedelta(days=30))


def test_recalibration_on_training_cutoffs_warns(shifted):
    pipe = copy.deepcopy(shifted[0])
    train = cp.make_subscription_data(random_state=1, churn_scale=3.0, **GEN)
    with pytest.warns(cp.LeakageWarning, match="overlap the training cutoffs") as caught:
        pipe.recalibrate(train, AS_OF)
    assert caught[0].filename == __file__  # points at the caller's line


def test_a_new_fit_forgets_an_earlier_recalibration(shifted):
    pipe = copy.deepcopy(shifted[0])
    pipe.recalibrate(shifted[1], LATER)
    assert hasattr(pipe, "recalibration_")
    pipe.fit(shifted[1], as_of=AS_OF)
    assert not hasattr(pipe, "recalibration_")


def test_recalibration_uses_the_scored_population_with_lapsed_customers():
    """Inactivity churn scores lapsed customers too: the map is refitted on that population."""
    data = cp.make_subscription_data(
        n_customers=800, random_state=3, **{k: v for k, v in GEN.items() if k != "n_customers"}
    )
    pipe = cp.ChurnPipeline(
        label="inactivity",
        horizon="28D",
        n_cutoffs=4,
        model=cp.ChurnModel(n_estimators=20, n_jobs=1),
    )
    pipe.fit(data, as_of="2024-09-01")
    pipe.recalibrate(data, "2024-12-01", n_cutoffs=1)
    cutoff = pd.Timestamp("2024-12-01") - pipe.horizon_
    scored = cp._labels.population(data, [cutoff], **pipe.population_rule())
    assert pipe.recalibration_["n_rows"] == len(scored)
    assert (
        cp._labels.customer_status(data, scored, pipe.horizon_, kind="inactivity") == "lapsed"
    ).any()


def test_recalibration_returns_a_new_state_and_leaves_the_old_one(shifted):
    """recalibrate() assembles a new fitted state; the pipeline installs it whole."""
    from churnpredict._fitted import FittedState
    from churnpredict._recalibration import recalibrate

    fitted, new = shifted
    pipe = copy.deepcopy(fitted)
    old_state, old_model = pipe.fitted_state_, pipe.model_
    old_calibrator = old_model.calibrator_
    state = recalibrate(pipe, new, LATER)
    assert isinstance(state, FittedState)
    assert pipe.fitted_state_ is old_state  # nothing written from outside
    assert old_model.calibrator_ is old_calibrator
    assert state.model is not old_model and state.model.booster_ is old_model.booster_
    assert state.model.calibrator_ is not old_calibrator
    assert state.model_id != old_state.model_id and state.recalibration is not None
    assert state.builders == old_state.builders and state.as_of == old_state.as_of
    assert pipe.recalibrate(new, LATER) is pipe
    assert pipe.fitted_state_ is not old_state and pipe.model_ is not old_model
    assert old_model.calibrator_ is old_calibrator


def test_fitted_attributes_are_read_only_views_of_the_state(shifted):
    from churnpredict._fitted import FittedState

    fitted, _ = shifted
    state = fitted.fitted_state_
    assert isinstance(state, FittedState)
    assert fitted.model_ is state.model and fitted.horizon_ == state.horizon
    assert fitted.builders_ == list(state.builders) and fitted.model_id_ == state.model_id
    with pytest.raises(AttributeError, match="read-only"):
        fitted.model_id_ = "x"
    with pytest.raises(AttributeError):
        state.model_id = "x"  # frozen
    assert not hasattr(fitted, "recalibration_")  # optional and not recorded
    unfitted = cp.ChurnPipeline()
    assert not hasattr(unfitted, "model_") and not hasattr(unfitted, "fitted_state_")
