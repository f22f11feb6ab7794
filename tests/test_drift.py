"""Drift at scoring time: PSI per feature and for the score, missing shares, unseen categories."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import churnpredict as cp
from churnpredict import cli
from churnpredict._drift import (
    EPSILON,
    drift_frame,
    drift_messages,
    population_drift,
    psi,
    reference_distribution,
    write_drift,
)

GEN = dict(n_customers=2000, growth=1.0, price_rise_at=None)
AS_OF = pd.Timestamp("2024-10-01")


# ------------------------------------------------------------------------------ the index
def test_psi_matches_the_formula_by_hand():
    # (0.25 - 0.5) ln(0.25/0.5) + (0.75 - 0.5) ln(0.75/0.5)
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    # an empty bin counts with EPSILON: finite, and large when the bin held many
    assert psi([0.5, 0.5], [1.0, 0.0]) == pytest.approx(
        (1.0 - 0.5) * math.log(1.0 / 0.5) + (EPSILON - 0.5) * math.log(EPSILON / 0.5)
    )


def test_reference_bins_are_training_deciles():
    x = pd.DataFrame({"a": np.arange(1000, dtype=float)})
    x.loc[:99, "a"] = np.nan
    ref = reference_distribution(x, bins=10)["features"]["a"]
    assert ref["kind"] == "numeric" and ref["missing_share"] == pytest.approx(0.1)
    assert len(ref["edges"]) == 9
    assert ref["edges"][0] == 190.0  # a training value: the one at or above the 10% quantile
    assert sum(ref["shares"]) + ref["missing_share"] == pytest.approx(1.0)
    assert ref["shares"] == pytest.approx([0.09] * 10, abs=0.002)
    # few distinct values: repeated edges merge, fewer bins, each value in its own bin
    flags = reference_distribution(pd.DataFrame({"f": [0.0] * 900 + [1.0] * 100}))
    assert flags["features"]["f"]["edges"] == [0.0, 1.0]
    assert flags["features"]["f"]["shares"] == [0.0, 0.9, 0.1]
    assert json.loads(json.dumps(flags)) == flags  # plain JSON


def _frames(seed: int, shift: float = 0.0, n: int = 5000):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "usage": rng.gamma(2.0, 10.0, n) + shift,
            "tickets": rng.poisson(1.0, n).astype(float),
            "plan": pd.Categorical(rng.choice(["basic", "pro", "business"], n, p=[0.5, 0.3, 0.2])),
        }
    )
    frame.loc[rng.random(n) < 0.05, "usage"] = np.nan
    return frame


def test_unshifted_population_raises_no_drift():
    ref = reference_distribution(_frames(0))
    out = population_drift(ref, _frames(1))
    assert out["drifted"] == [] and drift_messages(out) == []
    assert max(r["psi"] for r in out["features"]) < 0.02


def test_shifted_feature_is_named_and_only_it():
    ref = reference_distribution(_frames(0))
    out = population_drift(ref, _frames(1, shift=15.0))
    assert out["drifted"] == ["usage"]
    assert out["features"][0]["name"] == "usage" and out["features"][0]["level"] == "warn"
    messages = drift_messages(out)
    assert len(messages) == 1 and "usage" in messages[0] and "tickets" not in messages[0]


def test_missing_values_and_unseen_categories_count():
    ref = reference_distribution(_frames(0))
    now = _frames(1)
    now.loc[: len(now) // 2, "usage"] = np.nan
    now["plan"] = now["plan"].astype(object)
    now.loc[:999, "plan"] = "enterprise"
    out = {r["name"]: r for r in population_drift(ref, now)["features"]}
    assert out["usage"]["missing_share"] == pytest.approx(0.5 + 0.5 * 0.05, abs=0.02)
    assert out["usage"]["missing_share_reference"] == pytest.approx(0.05, abs=0.01)
    assert out["usage"]["level"] == "warn"
    assert out["plan"]["unseen_categories"] == ["enterprise"]
    assert out["plan"]["unseen_share"] == pytest.approx(0.2)
    assert out["plan"]["level"] == "warn"
    assert "enterprise" in drift_messages(population_drift(ref, now))[-1]


def test_thresholds_are_configurable():
    ref = reference_distribution(_frames(0))
    now = _frames(1, shift=3.0)
    default = population_drift(ref, now)
    value = default["features"][0]["psi"]
    assert 0.0 < value < 0.25
    strict = population_drift(ref, now, notice=value / 4, warn=value / 2)
    assert strict["drifted"] == ["usage"] and strict["thresholds"]["warn"] == value / 2
    with pytest.raises(ValueError, match="notice"):
        population_drift(ref, now, notice=0.3, warn=0.2)


def test_write_drift_is_standard_json(tmp_path):
    ref = reference_distribution(_frames(0))
    summary = population_drift(ref, _frames(1).assign(usage=np.nan))
    path = write_drift(summary, tmp_path / "drift.json", as_of="2024-10-01")
    back = json.loads(path.read_text(encoding="utf-8"))
    assert back["as_of"] == "2024-10-01" and back["drifted"] == summary["drifted"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["drift.json"]
    table = drift_frame(back)
    assert table.loc["usage", "missing_share"] == 1.0


# ------------------------------------------------------------------------------ pipeline
@pytest.fixture(scope="module")
def fitted():
    data = cp.make_subscription_data(random_state=1, **GEN)
    pipe = cp.ChurnPipeline(model=cp.ChurnModel(n_estimators=40, n_jobs=1), n_cutoffs=6).fit(
        data, as_of=AS_OF
    )
    return data, pipe


def _at_training_cutoffs(pipe, data):
    pop = cp.population(data, pipe.cutoffs_, kind=pipe.label_kind_)
    X = cp.build_features(data, pop.index, pipe.builders_, fit=False)[pipe.feature_names_]
    return X, pipe.model_.predict_proba(X)[:, 1]


def test_pipeline_keeps_a_reference_in_its_bundle(fitted, tmp_path):
    data, pipe = fitted
    ref = pipe.reference_
    assert set(ref["features"]) == set(pipe.feature_names_)
    assert ref["features"]["plan"]["kind"] == "categorical"
    assert set(ref["features"]["plan"]["categories"]) == {"basic", "pro", "business"}
    # the reference is the latest training population (pooled cutoffs differ from any one)
    latest = cp.population(data, pipe.cutoffs_[-1:], kind=pipe.label_kind_)
    assert ref["score"]["n"] == len(latest) < pipe.training_summary_["n_rows"]
    back = cp.ChurnPipeline.load(pipe.save(tmp_path / "model"))
    assert back.reference_ == ref


def test_a_fresh_draw_of_the_training_population_does_not_drift(fitted):
    _, pipe = fitted
    other = cp.make_subscription_data(random_state=2, **GEN)
    X, proba = _at_training_cutoffs(pipe, other)
    out = population_drift(pipe.reference_, X, proba)
    assert out["drifted"] == [] and drift_messages(out) == []
    assert out["score"]["psi"] < 0.05


def test_a_shifted_feature_is_named_by_the_warning(fitted):
    _, pipe = fitted
    other = cp.make_subscription_data(random_state=2, **GEN)
    X, proba = _at_training_cutoffs(pipe, other)
    X = X.assign(days_since_last_login=X["days_since_last_login"] + 20.0)
    out = population_drift(pipe.reference_, X, pipe.model_.predict_proba(X)[:, 1])
    assert "days_since_last_login" in out["drifted"]
    assert out["features"][0]["name"] == "days_since_last_login"
    assert "days_since_last_login" in drift_messages(out)[0]


def test_score_cli_warns_and_writes_drift_json(fitted, tmp_path):
    """Payments that doubled: the paid amounts drift, the exit code stays 0.

    (Plans priced 29 / 79 / 249 are the decile edges of mrr, so doubling keeps each plan in
    its own mrr bin; the sums over windows move.)"""
    data, pipe = fitted
    model = pipe.save(tmp_path / "model")
    folder = tmp_path / "data"
    folder.mkdir()
    pays = data.payments.assign(amount=data.payments["amount"] * 2.0)
    data.customers.to_parquet(folder / "customers.parquet")
    for name, frame in (("activity", data.activity), ("payments", pays), ("tickets", data.tickets)):
        frame.to_parquet(folder / f"{name}.parquet")
    out = tmp_path / "lists" / "at_risk.csv"
    result_args = [
        "score",
        str(folder),
        "--model",
        str(model),
        "--as-of",
        str(AS_OF.date()),
        "--out",
        str(out),
        "--holdout",
        "0.2",
        "--seed",
        "11",
    ]
    result = CliRunner().invoke(cli.app, result_args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out.parent / "at_risk.drift.json").read_text(encoding="utf-8"))
    assert summary["as_of"].startswith("2024-10-01") and summary["model_id"] == pipe.model_id_
    assert "paid_90d" in summary["drifted"]
    assert not any(
        name.startswith(("days_since", "events_", "tenure")) for name in summary["drifted"]
    )  # activity did not change
    warning = " ".join(result.stderr.split("major drift")[1].split())
    assert "paid_90d (PSI" in warning
    # -q (cron) keeps the warning; -qq silences everything on success
    quiet = CliRunner().invoke(cli.app, [*result_args, "-q"])
    assert quiet.exit_code == 0 and quiet.stdout == ""
    assert "warning: drift: major drift" in quiet.stderr
    silent = CliRunner().invoke(cli.app, [*result_args, "-qq"])
    assert silent.exit_code == 0 and silent.stdout == "" and silent.stderr == ""


@pytest.mark.slow
def test_report_shows_a_drift_table_and_plot(fitted, tmp_path):
    data, pipe = fitted
    page = cp.write_report(pipe, data, AS_OF, tmp_path / "report")
    text = page.read_text(encoding="utf-8")
    assert "id=drift" in text and 'id="fig-drift"' in text
    assert (tmp_path / "report" / "drift.png").stat().st_size > 0
    assert "Population stability index" in text
