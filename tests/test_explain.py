"""Exact TreeSHAP, driver-group totals and reasons, checked against shap and XGBoost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from churnpredict._exceptions import ChurnDataError, ChurnModelError
from churnpredict._explain import explain, global_importance, shap_values, to_shap_explanation
from churnpredict._model import ChurnModel


def _random_booster(depth: int, n_features: int = 6, rounds: int = 15, seed: int = 0):
    """A random-label booster on 400 rows with 20% missing values and a few repeated values,
    so trees use default directions, split one feature several times along a path and have
    leaves of uneven cover."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, n_features)).astype(np.float32)
    X[:, 1] = np.round(X[:, 1])
    X[rng.random(X.shape) < 0.2] = np.nan
    y = (rng.random(400) < 0.35).astype(int)
    params = {
        "max_depth": depth,
        "eta": 0.3,
        "objective": "binary:logistic",
        "min_child_weight": 0.1,
        "base_score": 0.35,
        "nthread": 1,
        "seed": seed,
    }
    return xgb.train(params, xgb.DMatrix(X, y), rounds), X


@pytest.fixture(scope="module")
def stump():
    """One split on ``days_idle``: 8 idle customers (10 days, all churned) and 8 active ones
    (0 days, all stayed). With base score 0.5, eta 1 and no regularisation the leaves are the
    Newton steps -(sum g)/(sum h) = -(8 * -0.5)/(8 * 0.25) = +2 and -2 with equal cover, so the
    expected margin is 0 and ``days_idle`` contributes exactly +2 (idle) or -2 (active)."""
    X = pd.DataFrame({"days_idle": [10.0] * 8 + [0.0] * 8, "tickets": [1.0] * 16})
    y = np.array([1] * 8 + [0] * 8)
    params = {
        "max_depth": 1,
        "eta": 1.0,
        "objective": "binary:logistic",
        "base_score": 0.5,
        "reg_lambda": 0.0,
        "min_child_weight": 0.0,
        "nthread": 1,
    }
    return xgb.train(params, xgb.DMatrix(X, y), 1), X


INFO = pd.DataFrame(
    {
        "group": ["engagement", "support"],
        "description": ["{value:.0f} days since last activity", "{value:.0f} open tickets"],
    },
    index=pd.Index(["days_idle", "tickets"], name="feature"),
)


@pytest.mark.parametrize("depth", [2, 4, 6])
def test_equals_shap_tree_explainer(depth):
    import shap

    booster, X = _random_booster(depth, seed=depth)
    ours = shap_values(booster, X)
    explainer = shap.TreeExplainer(booster)
    np.testing.assert_allclose(ours[:, :-1], explainer.shap_values(X), rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours[:, -1], explainer.expected_value, rtol=0, atol=1e-6)


def test_equals_xgboost_pred_contribs_with_repeated_features():
    """Two features and depth 6: every path splits the same features several times."""
    booster, X = _random_booster(6, n_features=2, rounds=10, seed=7)
    contribs = booster.predict(xgb.DMatrix(X), pred_contribs=True)
    np.testing.assert_allclose(shap_values(booster, X), contribs, rtol=0, atol=1e-6)
    np.testing.assert_allclose(shap_values(booster, X, method="xgboost"), contribs, atol=0)


def test_rows_sum_to_margin():
    booster, X = _random_booster(5, rounds=40, seed=3)
    margin = booster.predict(xgb.DMatrix(X), output_margin=True)
    np.testing.assert_allclose(shap_values(booster, X).sum(axis=1), margin, rtol=0, atol=1e-4)


def test_hand_checked_stump(stump):
    booster, X = stump
    values = shap_values(booster, X)
    expected = np.column_stack([np.r_[[2.0] * 8, [-2.0] * 8], np.zeros(16), np.zeros(16)])
    np.testing.assert_allclose(values, expected, atol=1e-6)


@pytest.fixture(scope="module")
def churn_model():
    """A ChurnModel on 600 customers: idle days raise churn, the 'basic' plan raises it, a
    string-typed categorical column; some idle days are missing."""
    rng = np.random.default_rng(11)
    n = 600
    X = pd.DataFrame(
        {
            "days_idle": rng.exponential(10, n),
            "plan": rng.choice(["basic", "pro", "team"], n),
            "tickets": rng.poisson(1.0, n).astype(float),
        },
        index=pd.Index([f"c{i:03d}" for i in range(n)], name="customer_id"),
    )
    X.loc[X.index[rng.random(n) < 0.1], "days_idle"] = np.nan
    logit = X["days_idle"].fillna(5.0) / 5 - 2 + (X["plan"] == "basic")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    model = ChurnModel(n_estimators=40, max_depth=3, n_jobs=1).fit(X, y)
    info = pd.DataFrame(
        {
            "group": ["engagement", "profile", "support"],
            "description": [
                "{value:.0f} days since last activity",
                "on the {value} plan",
                "{value:.0f} support tickets",
            ],
        },
        index=pd.Index(["days_idle", "plan", "tickets"], name="feature"),
    )
    return model, X, info


def test_churn_model_additivity_and_categoricals(churn_model):
    model, X, _ = churn_model
    values = shap_values(model, X)
    np.testing.assert_allclose(values.sum(axis=1), model.decision_function(X), atol=1e-4)
    reference = model.booster_.predict(model.dmatrix(X), pred_contribs=True)
    np.testing.assert_allclose(values, reference, atol=1e-6)
    # an unseen plan counts as missing, as in ChurnModel
    unseen = X.assign(plan=X["plan"].where(X.index != X.index[0], "enterprise"))
    missing = X.assign(plan=X["plan"].where(X.index != X.index[0], None))
    np.testing.assert_allclose(shap_values(model, unseen), shap_values(model, missing))


def test_explain_reasons_positive_ordered_and_grouped(churn_model):
    model, X, info = churn_model
    # by weight only, every positive contribution speaks (no risky-side rule)
    out = explain(model, X, info, top=3, threshold=0.0, cause_share=None, directions={})
    assert out.index.equals(X.index)
    assert list(out.columns) == [
        "reason_1",
        "reason_2",
        "reason_3",
        "reason_group_1",
        "reason_group_2",
        "reason_group_3",
        "reason_weight_1",
        "reason_weight_2",
        "reason_weight_3",
        "reason_feature_1",
        "reason_feature_2",
        "reason_feature_3",
        "shap_engagement",
        "shap_support",
        "shap_profile",
    ]
    phi = shap_values(model, X)[:, :3]
    names = np.array(["days_idle", "plan", "tickets"])
    groups = info["group"].to_numpy()
    for i in range(0, len(X), 37):  # naive per-row ranking on a sample of rows
        order = [j for j in np.argsort(-phi[i], kind="stable") if phi[i, j] > 0]
        got = [out.iloc[i][f"reason_group_{k}"] for k in (1, 2, 3)]
        assert got == [groups[j] for j in order] + [""] * (3 - len(order))
        for k in range(len(order), 3):
            assert out.iloc[i][f"reason_{k + 1}"] == ""
            assert np.isnan(out.iloc[i][f"reason_weight_{k + 1}"])
        if order:
            value = X.iloc[i][names[order[0]]]
            said = info["description"].iloc[order[0]].format(value=value)
            assert out.iloc[i]["reason_1"].startswith(said)  # then a peer comparison
    np.testing.assert_allclose(out["shap_engagement"], phi[:, 0])
    np.testing.assert_allclose(out["shap_profile"], phi[:, 1])
    weights = out[["reason_weight_1", "reason_weight_2", "reason_weight_3"]].to_numpy()
    assert np.nanmin(weights) >= 0
    # weights are the contributions carried into probability points: phi * (p - p0) / (m - m0)
    values = shap_values(model, X)
    margin, base = values.sum(axis=1), values[:, -1]
    slope = (model.calibrate_margin(margin) - model.calibrate_margin(base)) / (margin - base)
    top1 = phi.max(axis=1)
    has = top1 > 0
    np.testing.assert_allclose(weights[has, 0], (top1 * slope)[has], atol=1e-6)


@pytest.fixture(scope="module")
def cause_and_decline():
    """400 customers in four equal cells of idle days (0 or 20) and open tickets (0 or 3):
    churn is 5% with neither, 45% idle only, 20% with tickets only, 80% with both. A
    depth-1 booster learns the two effects additively: being idle weighs about twice the
    tickets, which are the cause a person can act on."""
    cells = [(0.0, 0.0, 0.05), (20.0, 0.0, 0.45), (0.0, 3.0, 0.20), (20.0, 3.0, 0.80)]
    X = pd.DataFrame(
        [(idle, tickets) for idle, tickets, _ in cells for _ in range(100)],
        columns=["days_idle", "tickets"],
    )
    y = np.array([int(i < 100 * rate) for _, _, rate in cells for i in range(100)])
    params = {"max_depth": 1, "eta": 0.3, "objective": "binary:logistic", "nthread": 1}
    return xgb.train(params, xgb.DMatrix(X, y), 60), X


def test_a_cause_leads_the_decline_it_explains(cause_and_decline):
    model, X = cause_and_decline
    both = X.iloc[[350]]  # idle and with open tickets
    by_weight = explain(model, both, INFO, cause_share=None)
    assert by_weight["reason_group_1"].iloc[0] == "engagement"
    assert by_weight["reason_group_2"].iloc[0] == "support"
    idle, tickets = by_weight[["reason_weight_1", "reason_weight_2"]].iloc[0]
    assert 0.3 < tickets / idle < 0.9
    first = explain(model, both, INFO)  # default cause_share 0.3
    assert first[["reason_group_1", "reason_group_2"]].iloc[0].tolist() == ["support", "engagement"]
    # the weights stay the model's own: the cause's is the smaller one
    assert first["reason_weight_1"].iloc[0] == pytest.approx(tickets)
    assert first["reason_weight_2"].iloc[0] == pytest.approx(idle)
    # a cause too small next to the decline does not lead it
    assert explain(model, both, INFO, cause_share=0.95)["reason_group_1"].iloc[0] == "engagement"
    with pytest.raises(ValueError, match="cause_share=1.5"):
        explain(model, both, INFO, cause_share=1.5)


def test_explain_hand_checked_weights(stump):
    """Idle customers: margin 2 from days_idle alone, so the reason weighs
    sigmoid(2) - sigmoid(0) = 0.8808 - 0.5 = 0.3808 probability points; active customers have
    no reason raising their risk."""
    booster, X = stump
    out = explain(booster, X, INFO, top=2)
    idle, active = out.iloc[0], out.iloc[-1]
    assert idle["reason_1"] == "10 days since last activity"
    assert idle["reason_group_1"] == "engagement"
    assert idle["reason_weight_1"] == pytest.approx(1 / (1 + np.exp(-2)) - 0.5, abs=1e-6)
    assert idle["reason_2"] == "" and np.isnan(idle["reason_weight_2"])
    assert active["reason_1"] == "" and active["reason_group_1"] == ""
    assert idle["shap_engagement"] == pytest.approx(2.0, abs=1e-6)
    assert active["shap_engagement"] == pytest.approx(-2.0, abs=1e-6)


def test_explain_uses_model_calibration(stump):
    """A model's calibrate_margin maps margins to probabilities: here p(m) = m / 10."""
    booster, X = stump

    class Linear:
        booster_ = booster
        feature_names_in_ = np.array(["days_idle", "tickets"], dtype=object)

        @staticmethod
        def calibrate_margin(margin):
            return np.asarray(margin) / 10

    out = explain(Linear(), X, INFO, top=1)
    assert out["reason_weight_1"].iloc[0] == pytest.approx(0.2, abs=1e-6)


def test_missing_value_is_a_reason_only_when_it_means_something():
    """Like the stump, plus 4 churned customers whose idle days are unknown: the split learns
    to send missing values to the churn leaf (+2), contribution 2 - expected margin
    (3 * 2 + 2 * -2) / 5 = 1.6. Without a text for missing values there is no reason (never
    "no data"); with one, that text is the reason."""
    X = pd.DataFrame({"days_idle": [10.0] * 8 + [0.0] * 8 + [np.nan] * 4, "tickets": [1.0] * 20})
    y = np.array([1] * 8 + [0] * 8 + [1] * 4)
    params = {
        "max_depth": 1,
        "eta": 1.0,
        "objective": "binary:logistic",
        "base_score": 0.5,
        "reg_lambda": 0.0,
        "min_child_weight": 0.0,
        "nthread": 1,
    }
    booster = xgb.train(params, xgb.DMatrix(X, y), 1)
    out = explain(booster, X.iloc[[16]], INFO, top=1)
    assert out["reason_1"].iloc[0] == "" and out["reason_group_1"].iloc[0] == ""
    assert out["shap_engagement"].iloc[0] == pytest.approx(1.6, abs=1e-6)
    info = INFO.assign(description_if_missing=["no activity recorded yet", None])
    out = explain(booster, X.iloc[[16]], info, top=1)
    assert out["reason_1"].iloc[0] == "no activity recorded yet"
    assert out["reason_group_1"].iloc[0] == "engagement"


def test_explain_accepts_feature_info_records(stump):
    from churnpredict.features import FeatureInfo

    booster, X = stump
    records = [FeatureInfo(n, r.group, r.description) for n, r in INFO.iterrows()]
    pd.testing.assert_frame_equal(explain(booster, X, records), explain(booster, X, INFO))


def test_global_importance(churn_model):
    model, X, info = churn_model
    phi = shap_values(model, X)[:, :3]
    by_feature = global_importance(model, X, info)
    assert list(by_feature.columns) == ["group", "mean_abs_shap", "share"]
    np.testing.assert_allclose(
        by_feature.loc[["days_idle", "plan", "tickets"], "mean_abs_shap"], np.abs(phi).mean(axis=0)
    )
    assert by_feature["mean_abs_shap"].is_monotonic_decreasing
    assert by_feature["share"].sum() == pytest.approx(1.0)
    by_group = global_importance(model, X, info, by="group")
    assert set(by_group.index) == {"engagement", "profile", "support"}
    assert by_group.loc["engagement", "mean_abs_shap"] == pytest.approx(np.abs(phi[:, 0]).mean())
    with pytest.raises(ValueError, match="needs feature_info"):
        global_importance(model, X, by="group")


def test_to_shap_explanation(churn_model):
    import shap

    model, X, _ = churn_model
    exp = to_shap_explanation(model, X.iloc[:20])
    values = shap_values(model, X.iloc[:20])
    assert isinstance(exp, shap.Explanation)
    assert exp.feature_names == ["days_idle", "plan", "tickets"]
    np.testing.assert_allclose(exp.values, values[:, :3])
    np.testing.assert_allclose(exp.base_values, values[:, 3])
    assert exp.data.shape == (20, 3) and exp.data.dtype == np.float64


@pytest.mark.slow
def test_numpy_input_matches_frame():
    booster, X = _random_booster(3, seed=5)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    np.testing.assert_allclose(shap_values(booster, X), shap_values(booster, frame.to_numpy()))


def test_errors(churn_model, stump):
    model, X, info = churn_model
    with pytest.raises(ChurnModelError, match=r"lacks 1 feature column.*'tickets'"):
        shap_values(model, X.drop(columns="tickets"))
    with pytest.raises(ChurnModelError, match="not fitted"):
        shap_values(ChurnModel(), X)
    with pytest.raises(ChurnModelError, match="cannot explain a str"):
        shap_values("model", X)
    with pytest.raises(ChurnDataError, match=r"no row for 1 model feature.*'plan'"):
        explain(model, X, info.drop(index="plan"))
    with pytest.raises(ChurnDataError, match="unknown driver group"):
        explain(model, X, info.assign(group=["engagement", "weather", "support"]))
    with pytest.raises(ValueError, match="top=0"):
        explain(model, X, info, top=0)
    with pytest.raises(ValueError, match="method='exact'"):
        shap_values(model, X, method="exact")
    booster, Xs = stump
    with pytest.raises(ChurnModelError, match="expects 2-D input with 2 columns"):
        shap_values(booster, np.zeros((3, 5)))


def test_empty_rows(churn_model):
    model, X, info = churn_model
    assert shap_values(model, X.iloc[:0]).shape == (0, 4)
    assert len(explain(model, X.iloc[:0], info)) == 0


def test_dart_falls_back_to_xgboost():
    """DART boosters weight trees at prediction time; "auto" hands them to XGBoost's TreeSHAP,
    "fast" refuses them."""
    _, X = _random_booster(1, rounds=1, seed=2)
    y = (np.random.default_rng(2).random(len(X)) < 0.4).astype(int)
    dart = xgb.train(
        {
            "booster": "dart",
            "rate_drop": 0.3,
            "objective": "binary:logistic",
            "nthread": 1,
            "seed": 0,
        },
        xgb.DMatrix(X, y),
        5,
    )
    np.testing.assert_allclose(
        shap_values(dart, X), dart.predict(xgb.DMatrix(X), pred_contribs=True), atol=0
    )
    with pytest.raises(ChurnModelError, match="does not support this model: booster type 'dart'"):
        shap_values(dart, X, method="fast")


def test_split_modules_stay_importable_from_explain():
    """The TreeSHAP kernel and the reason text live in treeshap and reasons; explain
    re-exports their public names."""
    import churnpredict._explain as explain_module
    import churnpredict._reasons as reasons
    import churnpredict._treeshap as treeshap

    assert explain_module.shap_values is treeshap.shap_values
    assert explain_module.MAX_TABLE_BYTES == treeshap.MAX_TABLE_BYTES
    for name in (
        "reference_percentiles",
        "related_facts",
        "REASON_THRESHOLD",
        "RELATED_CORRELATION",
        "MAX_REASON_CHARS",
    ):
        assert getattr(explain_module, name) is getattr(reasons, name)
    for name in explain_module.__all__:
        assert hasattr(explain_module, name)


def test_contributions_return_the_inputs_as_read(churn_model):
    from churnpredict._treeshap import PreparedInputs, contributions

    model, X, _ = churn_model
    values, inputs = contributions(model, X)
    assert isinstance(inputs, PreparedInputs)
    np.testing.assert_array_equal(values, shap_values(model, X))
    assert inputs.names == list(model.feature_names_in_)
    assert inputs.index.equals(X.index)
    assert inputs.matrix.shape == (len(X), len(inputs.names))


def test_a_value_on_the_low_risk_side_is_never_a_reason(churn_model):
    """Idle days raise churn: the model's risky direction for them is up, measured on the
    rows (``risk_directions``); a customer less idle than the median never hears their idle
    days as a reason, even where a tree gives that value a positive contribution."""
    from churnpredict._explain import risk_directions

    model, X, info = churn_model
    directions = risk_directions(model, X, info)
    direction, median = directions["days_idle"]
    assert direction == 1 and median == pytest.approx(X["days_idle"].median())
    out = explain(model, X, info, top=3, threshold=0.0, directions=directions)
    said = (out[[f"reason_feature_{k}" for k in (1, 2, 3)]] == "days_idle").any(axis=1)
    assert said.any()
    assert (X.loc[said, "days_idle"] >= median).all()
    # the same directions whoever else is scored: one customer alone reads the same
    one = explain(model, X.iloc[[0]], info, threshold=0.0, directions=directions)
    assert one["reason_1"].iloc[0].split(",")[0] == out["reason_1"].iloc[0].split(",")[0]


def test_risk_directions_of_many_rows_are_measured_on_a_sample(churn_model):
    """Over ``max_rows`` rows, the correlations come from a fixed random sample (a training
    cutoff of a million customers would otherwise be explained in full), the medians from
    every row: the strong directions are those of every row, the medians exactly so."""
    from churnpredict._explain import risk_directions

    model, X, info = churn_model
    every = risk_directions(model, X, info, max_rows=None)
    sampled = risk_directions(model, X, info, max_rows=len(X) // 2)
    assert sampled == risk_directions(model, X, info, max_rows=len(X) // 2)  # the same rows
    assert sampled["days_idle"] == every["days_idle"]
    for name, (direction, median) in sampled.items():
        assert median == pytest.approx(float(X[name].median()))
        if name in every:
            assert direction == every[name][0]
