"""The Dask path gives the single-machine results: features, labels, scores, SHAP, lists.

Everything runs on one in-process LocalCluster (2 workers, threads) shared by the module.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

import churnpredict as cp  # noqa: E402
from churnpredict import dask as cpd  # noqa: E402
from churnpredict._exceptions import ChurnDataError, ChurnModelError  # noqa: E402
from churnpredict._explain import shap_values  # noqa: E402
from churnpredict._export import ListOptionError, ListOptions, at_risk_list  # noqa: E402
from churnpredict._model import ChurnModel, LogisticBaseline  # noqa: E402
from churnpredict._pipeline import ChurnPipeline  # noqa: E402
from churnpredict.datasets import make_subscription_data  # noqa: E402
from churnpredict.features import (  # noqa: E402
    EngagementFeatures,
    FeatureBuilder,
    FeatureInfo,
    as_rows,
)

AS_OF = "2024-12-31"
# Dask's Parquet reader still passes inplace=True to pandas (deprecated in pandas 3.1).
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning:dask")


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def data():
    return make_subscription_data(n_customers=300, random_state=7)


@pytest.fixture(scope="module")
def parts(data, client):
    return cpd.partition_by_customer(
        data.customers, data.activity, data.payments, data.tickets, npartitions=3
    ).persist()


@pytest.fixture(scope="module")
def pipeline(data):
    """A pipeline trained on pandas: scoring on Dask must reproduce its scores."""
    return ChurnPipeline(model=ChurnModel(n_estimators=40, n_jobs=1), n_cutoffs=6).fit(
        data, as_of=AS_OF
    )


def _keyed(frame, keys=("customer_id", "cutoff")):
    return frame.set_index(list(keys))


def _assert_same(expected: pd.DataFrame, got: pd.DataFrame, atol: float = 1e-6) -> None:
    """Same rows and columns; numbers equal to ``atol`` (NaN where NaN), others equal."""
    assert sorted(got.index) == sorted(expected.index)
    assert list(got.columns) == list(expected.columns)
    got = got.loc[expected.index]
    for col in expected.columns:
        a, b = expected[col], got[col]
        if pd.api.types.is_numeric_dtype(a.dtype) and not isinstance(a.dtype, pd.CategoricalDtype):
            np.testing.assert_allclose(
                b.to_numpy(np.float64), a.to_numpy(np.float64), atol=atol, rtol=0, err_msg=col
            )
        else:
            assert (
                a.astype(object).fillna("<NA>").tolist() == b.astype(object).fillna("<NA>").tolist()
            ), col


@pytest.mark.slow
def test_import_does_not_need_dask():
    code = "import sys, churnpredict.dask; sys.exit('dask' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1])
    assert done.returncode == 0


def test_partitions_hold_each_customer_with_its_events(parts):
    import dask

    pieces = dask.compute(parts.customers.to_delayed(), parts.activity.to_delayed())
    customers, activity = ([set(p["customer_id"]) for p in table] for table in pieces)
    assert parts.npartitions == 3
    assert sum(len(c) for c in customers) == 300
    for cust, act in zip(customers, activity, strict=True):
        assert act <= cust


def test_features_equal_single_machine(data, parts):
    cutoffs = cp.make_cutoffs("2024-11-01", periods=3, freq="30D")
    builders = cp.default_builders()
    got = _keyed(cpd.build_features_dask(parts, cutoffs=cutoffs, builders=builders).compute())
    reference = cp.default_builders()
    expected = cp.build_features(data, cutoffs, reference)
    _assert_same(expected, got)
    assert builders[0].event_types_ == reference[0].event_types_
    assert builders[-1].categories_ == reference[-1].categories_
    assert isinstance(got["plan"].dtype, pd.CategoricalDtype)


def test_event_types_learned_from_all_partitions_before_the_latest_cutoff():
    """Four customers. Before the cutoff: 'a' x4, 'b' x2, 'c' x2; after it 'c' x3 more.

    Two types are kept: 'a', then 'b' (tied with 'c', first by name). Counting the later
    events, or one partition alone, would pick 'c'.
    """
    customers = pd.DataFrame({"customer_id": [1, 2, 3, 4], "signup_at": ["2024-01-01"] * 4})
    before = [(1, "a"), (1, "a"), (1, "a"), (2, "b"), (2, "b"), (3, "c"), (3, "c"), (4, "a")]
    activity = pd.DataFrame(
        {
            "customer_id": [c for c, _ in before] + [3, 3, 3],
            "timestamp": ["2024-02-10"] * len(before) + ["2024-03-05"] * 3,
            "event": [e for _, e in before] + ["c", "c", "c"],
        }
    )
    builder = EngagementFeatures(max_event_types=2)
    X = cpd.build_features_dask(
        customers, activity, cutoffs=["2024-03-01"], builders=[builder], npartitions=3
    ).compute()
    assert builder.event_types_ == ["a", "b"]
    expected = cp.build_features(
        cp.EventData(customers, activity), ["2024-03-01"], [EngagementFeatures(max_event_types=2)]
    )
    _assert_same(expected, _keyed(X))


class TicketCategories(FeatureBuilder):
    """Tickets per category before the cutoff, for the categories seen in fit.

    Learns from the events by parts: each part gives the categories its tickets hold.
    """

    tables = ("tickets",)
    group = "support"

    def fit_statistics(self, data, rows=None):
        self.require_tables(data)
        return {"seen": set(data.tickets["category"].dropna().astype(str))}

    @classmethod
    def combine_statistics(cls, parts):
        return {"seen": set().union(*(p["seen"] for p in parts))}

    def fit_from_statistics(self, stats):
        self.categories_ = sorted(stats["seen"])
        return self

    def feature_info(self):
        return [
            FeatureInfo(f"tickets_{c}", "support", "{value} tickets", kind="count", noun="ticket")
            for c in self.categories_
        ]

    def build(self, data, rows):
        rows = as_rows(data, rows)
        start = rows.shifted(pd.Timedelta(days=36525))  # a century: every earlier ticket
        category = data.tickets["category"].astype(str).to_numpy()
        out = {}
        for c in self.categories_:  # a few categories; vectorised over rows
            index = data.event_index("tickets", mask=category == c, key=("category", c))
            out[f"tickets_{c}"] = index.count_between(rows.codes, start, rows.cutoffs)
        return pd.DataFrame(
            out, index=rows.index, columns=self.get_feature_names_out(), dtype=np.float64
        )


def test_a_custom_builder_learning_from_events_fits_on_dask_as_on_pandas(data, client):
    """One customer's tickets alone hold 'refund': only one partition sees it."""
    codes = np.arange(len(data.tickets))
    tickets = data.tickets.assign(category=np.where(codes % 2 == 0, "bug", "billing"))
    cutoffs = cp.make_cutoffs("2024-11-01", periods=2, freq="30D")
    in_population = cp.population(data, cutoffs[:1]).index.get_level_values("customer_id")
    early = tickets[
        (tickets["created_at"] < cutoffs[0]) & tickets["customer_id"].isin(in_population)
    ]
    tickets.loc[tickets["customer_id"] == early["customer_id"].iloc[0], "category"] = "refund"
    parts = cpd.partition_by_customer(
        data.customers, data.activity, data.payments, tickets, npartitions=3
    )
    spread = TicketCategories()
    got = cpd.build_features_dask(parts, cutoffs=cutoffs, builders=[spread]).compute()
    local = TicketCategories()
    expected = cp.build_features(
        cp.EventData(data.customers, data.activity, data.payments, tickets), cutoffs, [local]
    )
    assert spread.get_state() == local.get_state()
    assert spread.categories_ == ["billing", "bug", "refund"]
    _assert_same(expected, _keyed(got))
    assert expected["tickets_refund"].max() > 0


def test_builders_that_learn_in_fit_only_are_refused(data, parts):
    class Learns(FeatureBuilder):
        tables = ("activity",)

        def fit(self, data, rows=None):
            self.n_ = len(data.activity)
            return self

    with pytest.raises(ChurnModelError, match=r"\['Learns'\] override fit\(\) only"):
        cpd.build_features_dask(parts, cutoffs=[AS_OF], builders=[Learns()])


@pytest.mark.slow
def test_partitions_without_events_of_a_table(data, pipeline, client):
    """Tickets of three customers only: some partitions have customers but no tickets."""
    few = data.tickets[data.tickets["customer_id"].isin(data.customers["customer_id"][:3])]
    parts = cpd.partition_by_customer(
        data.customers, data.activity, data.payments, few, npartitions=5
    )
    sizes = parts.tickets.map_partitions(len).compute().tolist()
    assert 0 in sizes
    got = cpd.build_features_dask(
        parts, cutoffs=[AS_OF], builders=pipeline.builders_, fit=False
    ).compute()
    small = cp.EventData(data.customers, data.activity, data.payments, few)
    expected = cp.build_features(small, [AS_OF], pipeline.builders_, fit=False)
    _assert_same(expected, _keyed(got))


def test_labels_equal_single_machine(data, parts):
    cutoffs = cp.make_cutoffs("2024-10-01", periods=4, freq="21D")
    got = cpd.label_churn_dask(parts, cutoffs, "28D").compute()
    expected = cp.label_churn(data, cutoffs, "28D")
    _assert_same(expected, _keyed(got))


def test_latest_time_is_the_data_time_range(data, parts):
    assert cpd.latest_time(parts) == data.time_range[1]


@pytest.mark.slow
def test_train_dask_follows_the_churnmodel_recipe(data, parts, pipeline, client, tmp_path):
    fitted = ChurnPipeline(model=ChurnModel(n_estimators=40, n_jobs=1), n_cutoffs=6)
    assert (
        cpd.train_dask(fitted, parts, tmp_path / "model", as_of=AS_OF, scheduler=client) is fitted
    )
    assert fitted.training_summary_ == pipeline.training_summary_
    assert fitted.feature_names_ == pipeline.feature_names_
    assert fitted.cutoffs_.equals(pipeline.cutoffs_)
    for attr in ("train_cutoffs_", "valid_cutoffs_", "purged_cutoffs_"):
        assert getattr(fitted.model_, attr).equals(getattr(pipeline.model_, attr)), attr
    for attr in ("n_train_rows_", "n_valid_rows_", "n_refit_rows_", "categories_"):
        assert getattr(fitted.model_, attr) == getattr(pipeline.model_, attr), attr
    for key in ("n_rows", "n_churned", "base_rate"):
        assert fitted.validation_scores_[key] == pipeline.validation_scores_[key], key
    # distributed histograms and row order differ from a local fit: a close model, not the
    # same trees (300 customers leave about 10 churners to validate on, hence the margins)
    assert abs(fitted.validation_scores_["auc"] - pipeline.validation_scores_["auc"]) < 0.15
    ours = fitted.score(data, AS_OF, explain=False)
    theirs = pipeline.score(data, AS_OF, explain=False)["churn_probability"]
    spearman = ours["churn_probability"].corr(theirs.loc[ours.index], method="spearman")
    assert spearman > 0.8
    # an ordinary bundle: it loads and scores on pandas like the object in memory
    loaded = ChurnPipeline.load(tmp_path / "model")
    _assert_same(ours, loaded.score(data, AS_OF, explain=False), atol=0)
    # drift reference of the latest cutoff's rows (all of them here): the pandas fit's
    assert fitted.reference_["features"] == pipeline.reference_["features"]
    assert fitted.reference_["score"]["n"] == pipeline.reference_["score"]["n"]
    assert fitted.required_inputs_ == pipeline.required_inputs_
    assert fitted.training_statuses_ == pipeline.training_statuses_
    # percentiles of the latest cutoff's rows (pandas: all training rows), so features
    # constant there (no open ticket at the latest cutoff) have none
    assert set(pipeline.feature_percentiles_) - set(fitted.feature_percentiles_) == {
        "open_tickets",
        "refunded_90d",
    }
    assert all(
        np.all(np.diff(np.asarray(v, dtype=float)[~np.isnan(v)]) >= 0)
        for v in fitted.feature_percentiles_.values()
    )
    assert loaded.reference_ == fitted.reference_
    assert loaded.drift(data, AS_OF) is not None


@pytest.mark.slow
def test_balanced_class_weight_scores_like_the_single_machine_fit(data, parts, client):
    """class_weight="balanced" on Dask: the same plan, calibration prior and scores as pandas.

    Without row and column subsampling the distributed trees are the local ones, so the
    calibrated scores agree to 1e-6. Calibrating toward the booster's raw probability, whose
    odds the class weights multiply by about 47 here, would lift the sparse ends of the map.
    """
    settings = dict(
        n_estimators=40, n_jobs=1, class_weight="balanced", subsample=1.0, colsample_bytree=1.0
    )
    local = ChurnPipeline(model=ChurnModel(**settings), n_cutoffs=6).fit(data, as_of=AS_OF)
    spread = cpd.fit_dask(
        ChurnPipeline(model=ChurnModel(**settings), n_cutoffs=6), parts, as_of=AS_OF, client=client
    )
    assert spread.model_.scale_pos_weight_ == local.model_.scale_pos_weight_ > 10
    assert spread.model_.best_iteration_ == local.model_.best_iteration_
    np.testing.assert_allclose(
        spread.model_.calibrator_.x, local.model_.calibrator_.x, atol=1e-6, rtol=0
    )
    np.testing.assert_allclose(
        spread.model_.calibrator_.y, local.model_.calibrator_.y, atol=1e-6, rtol=0
    )
    expected = local.score(data, AS_OF, explain=False)
    got = spread.score(data, AS_OF, explain=False)
    _assert_same(expected, got)
    # calibrated: near the validation churn rate, far below the weighted raw probability
    raw = 1 / (1 + np.exp(-spread.model_.decision_function(spread.features(data, AS_OF))))
    rate = spread.validation_scores_["base_rate"]
    assert abs(got["churn_probability"].mean() - rate) < 0.05 < raw.mean() - rate


@pytest.mark.slow
def test_score_customers_equals_pipeline_score(data, parts, pipeline):
    """Equal but for the share of peers a reason quotes: a partition's customers (a random
    share of everyone, by customer hash) are its peers."""
    got = cpd.score_customers_dask(pipeline, parts, AS_OF).compute().set_index("customer_id")
    expected = pipeline.score(data, AS_OF)
    peers = r", (?:\w+ than|like) \d+% of customers"
    for frame in (got, expected):
        for k in (1, 2, 3):
            frame[f"reason_{k}"] = frame[f"reason_{k}"].str.replace(peers, "", regex=True)
    _assert_same(expected, got)


@pytest.mark.slow
def test_predictions_and_shap_with_xgboost_dask(data, parts, pipeline, client):
    X = pipeline.features(data, AS_OF)
    Xd = cpd.build_features_dask(
        parts, cutoffs=[AS_OF], builders=pipeline.builders_, fit=False
    ).persist()
    keys = pd.MultiIndex.from_frame(Xd[["customer_id", "cutoff"]].compute())
    position = pd.Series(np.arange(len(keys)), index=keys).loc[X.index].to_numpy()
    proba = cpd.predict_dask(pipeline.model_, Xd, client=client).compute().to_numpy()
    np.testing.assert_allclose(
        proba[position], pipeline.model_.predict_proba(X)[:, 1], atol=1e-6, rtol=0
    )
    contribs = np.asarray(cpd.shap_values_dask(pipeline.model_, Xd, client=client).compute())
    np.testing.assert_allclose(
        contribs[position], shap_values(pipeline.model_, X), atol=1e-4, rtol=0
    )


@pytest.mark.slow
def test_score_dask_writes_the_top_list_and_the_ranked_parquet(data, pipeline, client, tmp_path):
    """Tables on disk with text ids and a renamed activity table, as a nightly job reads them."""
    import dask.dataframe as dd

    def text_ids(frame):
        return frame.assign(customer_id="c" + frame["customer_id"].astype(str))

    source = tmp_path / "data"
    source.mkdir()
    text_ids(data.customers).to_csv(source / "customers.csv", index=False)
    activity = text_ids(data.activity).rename(columns={"customer_id": "user", "timestamp": "ts"})
    dd.from_pandas(activity, npartitions=3).to_parquet(source / "activity", write_index=False)
    text_ids(data.payments).to_parquet(source / "payments.parquet")
    text_ids(data.tickets).to_csv(source / "tickets.csv", index=False)
    columns = {"activity": {"user": "customer_id", "ts": "timestamp"}}
    tables = cp.EventData(
        pd.read_csv(source / "customers.csv"),
        activity=pd.read_parquet(source / "activity"),
        payments=pd.read_parquet(source / "payments.parquet"),
        tickets=pd.read_csv(source / "tickets.csv"),
        columns=columns,
    )
    trained = ChurnPipeline(model=ChurnModel(n_estimators=30, n_jobs=1), n_cutoffs=6).fit(
        tables, as_of=AS_OF
    )
    trained.save(tmp_path / "model")
    scores = trained.score(tables, AS_OF)

    out, ranked = tmp_path / "at_risk.csv", tmp_path / "ranked"
    frame, n = cpd.score_dask(
        tmp_path / "model",
        source,
        AS_OF,
        out,
        scheduler=client,
        top=20,
        ranked_out=ranked,
        config={"columns": columns},
        npartitions=4,
        extra_columns=("plan",),
    )
    assert n == len(scores)
    expected = at_risk_list(
        scores,
        horizon=trained.horizon_,
        top=20,
        customers=tables.customers,
        extra_columns=("plan",),
    )
    written = pd.read_csv(out)
    assert written["customer_id"].tolist() == expected["customer_id"].tolist()
    assert written["risk_tier"].tolist() == expected["risk_tier"].tolist()
    np.testing.assert_allclose(
        written["churn_probability"], expected["churn_probability"], atol=1e-6
    )
    full = at_risk_list(
        scores, horizon=trained.horizon_, customers=tables.customers, extra_columns=("plan",)
    )
    parts = sorted(p.name for p in ranked.iterdir())
    assert parts[:2] == [".churnpredict-output", "part.00000.parquet"]  # marker, then parts
    listed = pd.read_parquet(ranked)
    assert listed["rank"].tolist() == list(range(1, len(full) + 1))
    assert listed["customer_id"].tolist() == full["customer_id"].tolist()
    assert listed["risk_tier"].tolist() == full["risk_tier"].tolist()
    assert listed["suggested_action"].tolist() == full["suggested_action"].tolist()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "at_risk.csv",
        "at_risk.manifest.json",
        "data",
        "model",
        "ranked",
    ]


@pytest.mark.slow
def test_ranked_out_does_not_replace_a_foreign_directory(data, parts, pipeline, tmp_path):
    target = tmp_path / "ranked"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    scores = cpd.score_customers_dask(pipeline, parts, AS_OF, explain=False)
    with pytest.raises(ChurnDataError, match="churnpredict did not write it"):
        cpd.write_at_risk_dask(scores, ranked_out=target, horizon=pipeline.horizon_)
    assert (target / "notes.txt").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["ranked"]


def test_list_options_are_the_export_ones(data, parts, pipeline):
    """Status filter, revenue ranking and a seeded holdout: the pandas list, row for row."""
    scores = cpd.score_customers_dask(pipeline, parts, AS_OF)
    options = ListOptions(
        top=15,
        rank_by="revenue",
        status="active",
        holdout=0.2,
        random_state=3,
        min_probability=0.01,
    )
    got = cpd.write_at_risk_dask(scores, horizon=pipeline.horizon_, options=options)
    expected = at_risk_list(pipeline.score(data, AS_OF), horizon=pipeline.horizon_, options=options)
    assert len(got) == 15
    for col in ("customer_id", "risk_tier", "status", "group"):
        assert got[col].tolist() == expected[col].tolist(), col
    np.testing.assert_allclose(got["revenue_at_risk"], expected["revenue_at_risk"], atol=1e-6)
    with pytest.raises(ValueError, match="not both"):
        cpd.write_at_risk_dask(scores, options=options, top=3)
    with pytest.raises(ListOptionError, match="rank_by='mrr'"):
        cpd.write_at_risk_dask(scores, rank_by="mrr")


@pytest.mark.slow
def test_events_of_unknown_customers(data, client):
    """Two activity rows name customer 999999, who is not in customers."""
    stray = pd.DataFrame(
        {
            "customer_id": [999999, 999999],
            "timestamp": pd.to_datetime(["2024-05-01", "2024-05-02"]),
            "event": ["login", "login"],
            "value": [1.0, 2.0],
        }
    )
    activity = pd.concat([data.activity, stray], ignore_index=True)
    parts = cpd.partition_by_customer(data.customers, activity, npartitions=2)
    with pytest.raises(
        ChurnDataError,
        match=r"activity.customer_id: 2 of \d+ events belong to "
        r"customers not in customers",
    ):
        cpd.label_churn_dask(parts, ["2024-06-01"], as_of=AS_OF).compute()
    dropped = cpd.partition_by_customer(
        data.customers, activity, npartitions=2, unknown_customers="drop"
    )
    got = cpd.label_churn_dask(dropped, ["2024-06-01"], as_of=AS_OF).compute()
    expected = cp.label_churn(
        cp.EventData(data.customers, data.activity), ["2024-06-01"], as_of=AS_OF
    )
    _assert_same(expected, _keyed(got))


@pytest.mark.slow
def test_events_in_a_partition_without_customers(client):
    """Two customers, many partitions: customer 999's events land where no customer is."""
    customers = pd.DataFrame({"customer_id": [1, 2], "signup_at": ["2024-01-01"] * 2})
    activity = pd.DataFrame(
        {"customer_id": [1, 2, 999], "timestamp": ["2024-02-01", "2024-02-02", "2024-02-03"]}
    )
    parts = cpd.partition_by_customer(customers, activity, npartitions=16)
    sizes = pd.DataFrame(
        {
            "customers": parts.customers.map_partitions(len).compute().tolist(),
            "activity": parts.activity.map_partitions(len).compute().tolist(),
        }
    )
    assert ((sizes["customers"] == 0) & (sizes["activity"] > 0)).any()
    with pytest.raises(
        ChurnDataError,
        match=r"activity.customer_id: 1 of 1 events in a "
        r"partition belong to customers not in customers "
        r"\{999\}",
    ):
        cpd.label_churn_dask(parts, ["2024-03-01"], as_of="2024-06-01").compute()


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"unknown_customers": "warn"}, ValueError, "expected 'error' or 'drop'"),
        ({"npartitions": 0}, ValueError, "npartitions=0; expected a positive integer"),
        (
            {"columns": {"activity": {"user": "customer_id"}}},
            ChurnDataError,
            "activity has no customer id column 'user'",
        ),
        (
            {"columns": {"activity": {"timestamp": "time"}}},
            ChurnDataError,
            r"activity is missing required column\(s\) \['timestamp'\]",
        ),
    ],
)
def test_partition_errors(data, kwargs, error, message):
    with pytest.raises(error, match=message):
        cpd.partition_by_customer(data.customers, data.activity, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize(
    "model, message",
    [
        (LogisticBaseline(), "Dask training supports ChurnModel only"),
        (ChurnModel(validation_cutoffs=6), "6 training cutoff.* validation_cutoffs=6"),
    ],
)
def test_fit_dask_errors(parts, client, model, message):
    with pytest.raises(ChurnModelError, match=message):
        cpd.fit_dask(ChurnPipeline(model=model, n_cutoffs=6), parts, as_of=AS_OF, client=client)


@pytest.mark.slow
def test_fit_dask_refuses_an_outcome_column(data, client):
    """A static column filled only for the customers who left is refused on Dask too."""
    customers = data.customers.assign(
        cancel_reason=np.where(data.customers["churned_at"].notna(), "price", None)
    )
    parts = cpd.partition_by_customer(customers, data.activity, data.payments, npartitions=2)
    with pytest.raises(ChurnDataError, match=r"customers\.cancel_reason is filled for"):
        cpd.fit_dask(
            ChurnPipeline(model=ChurnModel(n_estimators=10, n_jobs=1), n_cutoffs=6),
            parts,
            as_of=AS_OF,
            client=client,
        )


def test_raw_export_settings_are_refused_on_dask(tmp_path):
    from churnpredict.dask._partitions import open_data

    with pytest.raises(ChurnDataError, match=r"the config sets \['tables', 'derive_customers'\]"):
        open_data(tmp_path, {"tables": {"activity": "x.csv"}, "derive_customers": True}, None)


def test_business_auto_is_decided_as_on_one_machine_or_refused(data, client):
    """The customers decide on the client; payments by parts; an activity log alone is refused."""
    from churnpredict._training import business_kind
    from churnpredict.dask._training import business_on_partitions

    cases = {
        "churned_at": data,
        "payments": cp.EventData(
            data.customers.drop(columns=["churned_at", "mrr"], errors="ignore"),
            payments=data.payments,
        ),
    }
    for name, local in cases.items():
        parts = cpd.partition_by_customer(local.customers, payments=local.payments, npartitions=3)
        got = business_on_partitions(ChurnPipeline(), parts, cp.EventData(local.customers))
        assert got == business_kind(local), name
    shop = ChurnPipeline(business="purchases")
    bare = data.customers.drop(columns=["churned_at", "mrr"], errors="ignore")
    parts = cpd.partition_by_customer(bare, data.activity, npartitions=2)
    whole = cp.EventData(bare)
    assert business_on_partitions(shop, parts, whole) == ("purchases", "set: business='purchases'")
    with pytest.raises(ChurnModelError, match="business='auto' cannot be decided on Dask"):
        business_on_partitions(ChurnPipeline(), parts, whole)
