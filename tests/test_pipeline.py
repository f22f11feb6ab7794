"""ChurnPipeline end to end on the simulated subscription business, and its saved bundle."""

from __future__ import annotations

import hashlib
import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from churnpredict import EventData
from churnpredict._exceptions import BundleError, ChurnDataError, ChurnModelError, LeakageWarning
from churnpredict._labels import label_churn
from churnpredict._model import ChurnModel, LogisticBaseline
from churnpredict._pipeline import ChurnPipeline
from churnpredict.datasets import make_subscription_data
from churnpredict.features import ProfileFeatures

AS_OF = pd.Timestamp("2024-11-30")


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def data():
    """1,200 simulated subscribers, 2023-01-01 .. 2024-12-31 (see churnpredict.datasets)."""
    return make_subscription_data(n_customers=1200, random_state=5)


@pytest.fixture(scope="module")
def pipe(data):
    return ChurnPipeline(model=ChurnModel(n_jobs=1)).fit(data, as_of=AS_OF)


@pytest.fixture(scope="module")
def scores(pipe, data):
    return pipe.score(data, AS_OF)


# ---------------------------------------------------------------- fit
def test_fit_uses_only_labels_over_by_as_of(pipe, data):
    horizon = pd.Timedelta("28D")
    assert pipe.as_of_ == AS_OF and pipe.horizon_ == horizon
    assert len(pipe.cutoffs_) == 12
    assert pipe.cutoffs_.max() == AS_OF - horizon
    assert (np.diff(pipe.cutoffs_.to_numpy()) == np.timedelta64(14, "D")).all()
    labels = label_churn(data, pipe.cutoffs_, horizon, as_of=AS_OF)
    summary = pipe.training_summary_
    assert summary["n_rows"] == len(labels)
    assert summary["positive_rate"] == pytest.approx(labels["churned"].mean())
    assert sum(summary["churn_types"].values()) == summary["n_churned"]
    assert set(summary["churn_types"]) == {"voluntary", "involuntary"}
    assert pipe.label_kind_ == "cancellation"


def test_model_gets_the_horizon_for_its_purge_gap(pipe):
    model = pipe.model_
    assert model.horizon == pd.Timedelta("28D")
    # 14-day cutoffs, 28-day horizon: exactly one cutoff sits in the gap
    assert list(model.purged_cutoffs_) == [pipe.cutoffs_[9]]
    assert list(model.valid_cutoffs_) == list(pipe.cutoffs_[10:])
    assert model.n_refit_rows_ == pipe.training_summary_["n_rows"]
    assert pipe.validation_scores_["auc"] == model.validation_scores_["auc"]


def test_feature_metadata(pipe):
    info = pipe.feature_info_
    assert list(info.index) == pipe.feature_names_ == list(pipe.model_.feature_names_in_)
    assert set(info["group"]) == {
        "engagement",
        "support",
        "payments",
        "monetary",
        "tenure",
        "profile",
    }
    assert info.loc["days_since_last_activity", "group"] == "engagement"


def test_progress_reports_each_stage(data):
    calls = []
    ChurnPipeline(model=ChurnModel(n_estimators=20, n_jobs=1), n_cutoffs=4).fit(
        data, as_of=AS_OF, progress=lambda *a: calls.append(a)
    )
    assert calls[0] == ("labels", 1, 8)
    assert calls[-1] == ("model", 8, 8)
    assert [c[1] for c in calls] == list(range(1, 9))


# ---------------------------------------------------------------- score
def test_score_columns_and_order(scores, pipe, data):
    assert scores.index.name == "customer_id"
    assert list(scores.columns[:2]) == ["churn_probability", "mrr"]
    for k in (1, 2, 3):
        assert {f"reason_{k}", f"reason_group_{k}", f"reason_weight_{k}"} <= set(scores)
    assert "shap_payments" in scores
    p = scores["churn_probability"].to_numpy()
    assert ((p > 0) & (p < 1)).all() and (np.diff(p) <= 0).all()
    X = pipe.features(data, AS_OF).droplevel("cutoff")
    from_payments = X["mrr"].dropna()
    assert scores.loc[from_payments.index, "mrr"].equals(from_payments)


def test_score_ignores_data_after_as_of(scores, pipe, data):
    """Scoring as of T gives the same numbers whether or not the data holds later events."""
    later = pipe.score(data.cut(AS_OF), AS_OF)
    pd.testing.assert_frame_equal(later, scores)
    # an as_of that is not midnight, reasons included
    stamp = AS_OF - pd.Timedelta("9h 17min")
    pd.testing.assert_frame_equal(
        pipe.score(data.cut(stamp), stamp, explain=False), pipe.score(data, stamp, explain=False)
    )


def test_score_population(scores, data):
    c = data.customers.set_index("customer_id")
    expected = c.index[
        (c["signup_at"] < AS_OF) & (c["churned_at"].isna() | (c["churned_at"] > AS_OF))
    ]
    assert set(scores.index) == set(expected)


def test_score_requires_the_training_tables(pipe, data):
    no_tickets = EventData(data.customers, activity=data.activity, payments=data.payments)
    with pytest.raises(
        ChurnDataError,
        match=r"SupportFeatures were trained but the data lacks "
        r"table\(s\) \['tickets'\]",
    ):
        pipe.score(no_tickets, AS_OF)


def test_score_before_anyone_signed_up(pipe, data):
    with pytest.raises(ChurnDataError, match="no customer is in the population"):
        pipe.score(data, "2022-01-01")


def test_unfitted_and_wrong_input(data):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ChurnPipeline().score(data, AS_OF)
    with pytest.raises(ChurnDataError, match="data must be an EventData, got DataFrame"):
        ChurnPipeline().fit(data.customers)
    with pytest.raises(ChurnModelError, match="label='churn'"):
        ChurnPipeline(label="churn").fit(data)
    with pytest.raises(ChurnModelError, match="n_cutoffs=0"):
        ChurnPipeline(n_cutoffs=0).fit(data)


def test_explain_needs_a_tree_model(data):
    pipe = ChurnPipeline(model=LogisticBaseline(), n_cutoffs=4).fit(data, as_of=AS_OF)
    assert pipe.score(data, AS_OF, explain=False)["churn_probability"].between(0, 1).all()
    with pytest.raises(ChurnModelError, match="reasons need a tree model"):
        pipe.score(data, AS_OF)


# ---------------------------------------------------------------- evaluate
def test_evaluate_on_the_next_horizon(pipe, data):
    ev = pipe.evaluate(data, AS_OF)
    labels = label_churn(data, [AS_OF], "28D").droplevel("cutoff")
    assert ev.scores["churned"].sort_index().equals(labels["churned"].sort_index())
    assert ev.metrics["n"] == len(labels)
    assert ev.metrics["auc"] > 0.8
    assert ev.lift.loc[1, "lift"] > 3
    assert (
        ev.by_churn_type["n_voluntary"] + ev.by_churn_type["n_involuntary"]
        == (ev.metrics["n_churned"])
    )


def test_evaluate_inside_the_training_window_warns(pipe, data):
    with pytest.warns(LeakageWarning, match="inside the training window"):
        pipe.evaluate(data, AS_OF - pd.Timedelta("28D"))


def test_evaluate_needs_the_horizon_after_as_of(pipe, data):
    with pytest.raises(ChurnDataError, match="would be censored"):
        pipe.evaluate(data, "2024-12-20")


# ---------------------------------------------------------------- bundle
# (layout, signing, atomicity and concurrency in detail: tests/test_bundle.py)
@pytest.fixture(scope="module")
def bundle(pipe, tmp_path_factory):
    return pipe.save(tmp_path_factory.mktemp("bundles") / "model")


def _version(folder):
    return folder / json.loads((folder / "CURRENT").read_text())["version"]


def _reseal(folder, name, data):
    """Replace one file of the current version and recompute its manifest checksum."""
    version = _version(folder)
    (version / name).write_bytes(data)
    manifest = json.loads((version / "MANIFEST.json").read_text())
    manifest["files"][name] = hashlib.sha256(data).hexdigest()
    (version / "MANIFEST.json").write_text(json.dumps(manifest))


def test_save_load_scores_identically(bundle, scores, pipe, data):
    names = sorted(os.listdir(bundle))
    assert names[0] == "CURRENT" and len(names) == 2 and names[1].startswith("v-")
    assert sorted(os.listdir(_version(bundle))) == [
        "MANIFEST.json",
        "booster.json",
        "builders.json",
        "bundle.json",
        "model.json",
    ]
    loaded = ChurnPipeline.load(bundle)
    pd.testing.assert_frame_equal(loaded.score(data, AS_OF), scores)
    pd.testing.assert_frame_equal(loaded.summary, pipe.summary)
    pd.testing.assert_frame_equal(loaded.feature_info_, pipe.feature_info_)
    assert loaded.get_params()["horizon"] == "auto" and loaded.horizon_ == pd.Timedelta("28D")
    assert loaded.model_.best_iteration_ == pipe.model_.best_iteration_
    assert [b.get_params() for b in loaded.builders_] == [b.get_params() for b in pipe.builders_]
    assert loaded.training_summary_ == pipe.training_summary_


def test_bundle_contents(bundle, pipe):
    version = _version(bundle)
    meta = json.loads((version / "bundle.json").read_text())
    assert meta["format"] == "churnpredict-bundle" and meta["format_version"] == 2
    assert set(meta["versions"]) == {"churnpredict", "xgboost", "scikit-learn", "pandas", "numpy"}
    assert meta["training"]["horizon"] == "28 days 00:00:00"
    assert meta["model"] == {
        "class": "churnpredict._model:ChurnModel",
        "file": "model.json",
        "booster": "booster.json",
    }
    model = json.loads((version / "model.json").read_text())
    assert model["fitted"]["calibrator"]["method"] == "isotonic"
    assert meta["metrics"]["validation"]["auc"] == pytest.approx(pipe.validation_scores_["auc"])
    manifest = json.loads((version / "MANIFEST.json").read_text())
    assert manifest["files"] == {
        name: hashlib.sha256((version / name).read_bytes()).hexdigest()
        for name in ("booster.json", "builders.json", "bundle.json", "model.json")
    }
    builders = json.loads((version / "builders.json").read_text())["builders"]
    assert [b["class"].rsplit(":", 1)[1] for b in builders] == [
        type(b).__name__ for b in pipe.builders_
    ]
    assert (
        json.loads((version / "booster.json").read_text())["learner"]["objective"]["name"]
        == "binary:logistic"
    )


@pytest.fixture
def copy(bundle, tmp_path):
    import shutil

    return shutil.copytree(bundle, tmp_path / "copy")


@pytest.mark.parametrize("name", ["booster.json", "builders.json", "bundle.json", "model.json"])
def test_one_changed_byte_is_refused(copy, name):
    path = _version(copy) / name
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(BundleError, match=f"{name}: checksum mismatch.*tampered with"):
        ChurnPipeline.load(copy)


def test_missing_files_and_bundles(copy, tmp_path):
    with pytest.raises(BundleError, match="no model bundle there"):
        ChurnPipeline.load(tmp_path / "nowhere")
    (_version(copy) / "booster.json").unlink()
    with pytest.raises(BundleError, match="booster.json is missing"):
        ChurnPipeline.load(copy)
    (copy / "CURRENT").unlink()
    with pytest.raises(BundleError, match="no CURRENT file, so this is not a churnpredict"):
        ChurnPipeline.load(copy)


def _rewrite_meta(folder, change):
    meta = json.loads((_version(folder) / "bundle.json").read_text())
    change(meta)
    _reseal(folder, "bundle.json", json.dumps(meta).encode())


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            lambda m: m["versions"].update(pandas="1.5.3", xgboost="1.7.6"),
            r"incompatible versions: xgboost 1.7.6 \(installed: .*pandas 1.5.3",
        ),
        (
            lambda m: m["versions"].update(churnpredict="0.9.0"),
            r"incompatible versions: churnpredict 0.9.0",
        ),
        (lambda m: m.update(format_version=1), "bundle format .* 1; .*retrain"),
    ],
)
def test_incompatible_bundles_are_refused(copy, change, match):
    _rewrite_meta(copy, change)
    with pytest.raises(BundleError, match=match):
        ChurnPipeline.load(copy)


def test_save_is_atomic(pipe, tmp_path, monkeypatch):
    target = pipe.save(tmp_path / "m")
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("churnpredict._bundle._write_synced", broken)
    with pytest.raises(OSError, match="disk full"):
        pipe.save(target)
    assert {
        p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()
    } == before
    assert sorted(os.listdir(tmp_path)) == ["m"]  # no temporary directory left behind
    monkeypatch.undo()
    pipe.save(target)  # replacing an existing bundle works
    assert sorted(os.listdir(tmp_path)) == ["m"]
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    with pytest.raises(BundleError, match="non-empty directory that is not a churnpredict"):
        pipe.save(tmp_path / "notes")
    assert os.listdir(tmp_path / "notes") == ["todo.txt"]


# ---------------------------------------------------------------- snapshot tables
@pytest.fixture(scope="module")
def snapshot():
    """A telco-style snapshot: month-to-month contracts and high charges churn more."""
    rng = np.random.default_rng(0)
    n = 600
    charges = rng.uniform(20, 120, n)
    contract = rng.choice(["month", "year"], n)
    logit = -2.5 + 0.025 * charges + np.where(contract == "month", 1.2, -1.0)
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "monthly_charges": charges,
            "contract": contract,
            "Churn": np.where(churned, "Yes", "No"),
        }
    )
    return EventData(customers, label_column="Churn")


def test_snapshot_tables_train_on_profile_features(snapshot):
    pipe = ChurnPipeline(model=ChurnModel(n_estimators=100, n_jobs=1)).fit(snapshot)
    assert [type(b) for b in pipe.builders_] == [ProfileFeatures]
    assert pipe.feature_names_ == ["monthly_charges", "contract"]
    assert pipe.label_kind_ == "snapshot" and len(pipe.cutoffs_) == 1
    assert pipe.model_.valid_cutoffs_ is None  # one cutoff: stratified holdout
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ev = pipe.evaluate(snapshot, None)
    assert ev.metrics["auc"] > 0.7
    assert ev.scores["mrr"].isna().all()


# ---------------------------------------------------------------- from a config
def test_from_config_reads_what_the_command_line_reads(tmp_path):
    from churnpredict import load_config
    from churnpredict._exceptions import ChurnParameterError

    config = tmp_path / "churn.toml"
    config.write_text(
        'horizon = "56D"\nlabel = "inactivity"\nn_cutoffs = 4\nlookback = "60D"\n'
        'windows = [14, "60D"]\ncurrency = "€"\nreason_threshold = 0.02\n'
        'unknown_customers = "drop"\n[model]\nn_estimators = 30\nmax_depth = 3\n'
        "[score]\ntop = 10\n"
    )
    pipe = ChurnPipeline.from_config(load_config(config))
    assert (pipe.horizon, pipe.label, pipe.n_cutoffs, pipe.lookback) == (
        "56D",
        "inactivity",
        4,
        "60D",
    )
    assert pipe.windows == (14, "60D") and pipe.builders is None
    assert (pipe.currency, pipe.reason_threshold) == ("€", 0.02)
    assert isinstance(pipe.model, ChurnModel)
    assert (pipe.model.n_estimators, pipe.model.max_depth) == (30, 3)
    # keywords over the config, as the command line's flags
    assert ChurnPipeline.from_config({"horizon": "56D"}, horizon="14D").horizon == "14D"
    assert ChurnPipeline.from_config({}).get_params()["n_cutoffs"] == 12
    with pytest.raises(ChurnParameterError, match="^n_cutoffs=0"):
        ChurnPipeline.from_config({"n_cutoffs": 0})
    with pytest.raises(ChurnParameterError, match="^learning_rate=2"):
        ChurnPipeline.from_config({"model": {"learning_rate": 2}})
    with pytest.raises(ChurnDataError, match=r"config \[model\]: .*n_trees"):
        ChurnPipeline.from_config({"model": {"n_trees": 5}})
    with pytest.raises(ChurnDataError, match="config windows 'soon' is not a usable duration"):
        ChurnPipeline.from_config({"windows": [7, "soon"]})
    with pytest.raises(ChurnDataError, match="reason_threshold = 2"):
        ChurnPipeline.from_config({"reason_threshold": 2})
