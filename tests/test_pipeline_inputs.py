"""What a fitted pipeline needs to score, and what its scores remember.

Inputs used in training but missing at scoring are refused (ChurnDataError, exit 2 in the
command line) instead of silently giving empty features; scores carry their horizon, as-of
and model id in ``DataFrame.attrs``.
"""

from __future__ import annotations

import json
import re
import warnings

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from churnpredict import EventData, cli
from churnpredict._exceptions import ChurnDataError
from churnpredict._model import ChurnModel
from churnpredict._pipeline import ChurnPipeline
from churnpredict.datasets import make_subscription_data
from churnpredict.features import EngagementFeatures, PaymentFeatures, default_builders

AS_OF = pd.Timestamp("2024-11-30")


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def data():
    return make_subscription_data(n_customers=400, events_per_day=0.5, random_state=3)


def _pipeline(**kwargs) -> ChurnPipeline:
    return ChurnPipeline(model=ChurnModel(n_estimators=30, n_jobs=1), **kwargs)


@pytest.fixture(scope="module")
def pipe(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _pipeline().fit(data, as_of=AS_OF)


def _without(data: EventData, table: str, column: str) -> EventData:
    tables = dict(data.tables)
    tables[table] = tables[table].drop(columns=[column])
    return EventData(
        tables["customers"],
        activity=tables.get("activity"),
        payments=tables.get("payments"),
        tickets=tables.get("tickets"),
    )


# ------------------------------------------------------------------ required inputs
def test_required_inputs_name_the_tables_and_optional_columns_used(pipe):
    assert pipe.required_inputs_ == {
        "activity": ["event", "value"],
        "customers": ["channel", "plan"],
        "payments": [],
        "tickets": ["csat", "priority", "resolved_at"],
    }
    assert json.loads(json.dumps(pipe.required_inputs_)) == pipe.required_inputs_


@pytest.mark.parametrize(
    "table, column",
    [
        ("activity", "value"),
        ("activity", "event"),
        ("tickets", "csat"),
        ("tickets", "priority"),
        ("customers", "plan"),
    ],
)
def test_score_refuses_data_missing_a_column_used_in_training(pipe, data, table, column):
    """Scoring without activity.value or activity.event used to give NaN features silently."""
    lacking = _without(data, table, column)
    with pytest.raises(ChurnDataError, match=rf"{table}\.{column}.*add them.*retrain") as err:
        pipe.score(lacking, AS_OF, explain=False)
    assert f"missing column(s) ['{column}']" in str(err.value)


def test_score_refuses_data_missing_a_table_used_in_training(pipe, data):
    lacking = EventData(data.customers, activity=data.activity, payments=data.payments)
    with pytest.raises(ChurnDataError, match="tickets"):
        pipe.score(lacking, AS_OF, explain=False)


def test_columns_not_used_in_training_are_not_required(data):
    """Trained without activity.value and with fixed event types learned from nothing: the
    scoring data needs neither activity.value nor activity.event."""
    no_value = _without(data, "activity", "value")
    builders = [EngagementFeatures(event_types=None), PaymentFeatures()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pipe = _pipeline(builders=builders).fit(no_value, as_of=AS_OF)
    assert pipe.required_inputs_ == {"activity": [], "payments": []}
    bare = _without(no_value, "activity", "event")
    scores = pipe.score(bare, AS_OF, explain=False)
    assert scores["churn_probability"].between(0, 1).all()


def test_pipelines_without_the_stored_list_ask_their_builders(pipe, data):
    """A pipeline whose required_inputs_ was not kept (e.g. rebuilt from an older layout)
    still refuses data lacking what its fitted builders read."""
    old = ChurnPipeline(builders=default_builders())
    old.__dict__.update({k: v for k, v in pipe.__dict__.items() if k != "required_inputs_"})
    with pytest.raises(ChurnDataError, match=r"activity\.value"):
        old.score(_without(data, "activity", "value"), AS_OF, explain=False)


def test_cli_score_exits_2_naming_the_missing_column(tmp_path, data):
    runner = CliRunner()
    folder = tmp_path / "data"
    folder.mkdir()
    for name, frame in data.tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    model = tmp_path / "model"
    trained = runner.invoke(
        cli.app,
        ["train", str(folder), "--model", str(model), "--as-of", "2024-12-02"],
        catch_exceptions=False,
    )
    assert trained.exit_code == 0, trained.stderr
    data.activity.drop(columns=["value"]).to_csv(folder / "activity.csv", index=False)
    result = runner.invoke(
        cli.app,
        [
            "score",
            str(folder),
            "--model",
            str(model),
            "--as-of",
            "2024-12-31",
            "--out",
            str(tmp_path / "list.csv"),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "activity.value" in result.stderr and "retrain" in result.stderr
    assert not (tmp_path / "list.csv").exists()


# ------------------------------------------------------------------ score attrs
def test_scores_remember_horizon_as_of_and_model(pipe, data):
    scores = pipe.score(data, AS_OF, explain=False)
    assert scores.attrs["horizon"] == "28D"
    assert pd.Timedelta(scores.attrs["horizon"]) == pipe.horizon_
    assert scores.attrs["as_of"] == "2024-11-30T00:00:00"
    assert pd.Timestamp(scores.attrs["as_of"]) == AS_OF
    assert scores.attrs["model_id"] == pipe.model_id_
    assert re.fullmatch(r"[0-9a-f]{16}", pipe.model_id_)


def test_model_id_is_stable_and_tells_models_apart(pipe, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        again = _pipeline().fit(data, as_of=AS_OF)
        other = _pipeline(horizon="90D").fit(data, as_of=AS_OF)
        shallow = ChurnPipeline(model=ChurnModel(n_estimators=30, max_depth=2, n_jobs=1)).fit(
            data, as_of=AS_OF
        )
    assert again.model_id_ == pipe.model_id_
    assert len({pipe.model_id_, other.model_id_, shallow.model_id_}) == 3
    scores = other.score(data, AS_OF, explain=False)
    assert scores.attrs["horizon"] == "90D" and scores.attrs["model_id"] == other.model_id_


def test_saved_and_loaded_pipeline_keeps_the_model_id(pipe, data, tmp_path):
    loaded = ChurnPipeline.load(pipe.save(tmp_path / "bundle"))
    scores = loaded.score(data, AS_OF, explain=False)
    assert scores.attrs["model_id"] == pipe.model_id_


def test_purchase_history_inputs_are_required_at_scoring(data):
    from churnpredict.features import PurchaseHistoryFeatures, TenureFeatures

    shop = EventData(
        data.customers.drop(columns=["churned_at", "churn_type"]), activity=data.activity
    )
    pipe = ChurnPipeline(
        builders=[PurchaseHistoryFeatures(horizon=28, bgnbd=False), TenureFeatures()],
        label="inactivity",
        n_cutoffs=6,
        model=ChurnModel(n_estimators=10, n_jobs=1),
    )
    pipe.fit(shop, as_of=AS_OF)
    assert "value" in pipe.required_inputs_["activity"]
    no_value = EventData(shop.customers, activity=shop.activity.drop(columns=["value"]))
    with pytest.raises(ChurnDataError, match=re.escape("activity.value")):
        pipe.score(no_value, AS_OF)
    payments_only = EventData(shop.customers, payments=data.payments)
    with pytest.raises(ChurnDataError, match="activity table"):
        pipe.score(payments_only, AS_OF)
