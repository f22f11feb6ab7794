"""Reasons a retention manager can read: plain words, one fact a line, a yardstick, and
explanations that end at the probability in the list."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import churnpredict as cp
import churnpredict._training  # noqa: F401
from churnpredict._explain import (
    explain,
    probability_contributions,
    to_shap_explanation,
)
from churnpredict._export import at_risk_list, write_at_risk
from churnpredict.datasets import SAMPLE_AS_OF, load_sample
from churnpredict.features._base import FeatureInfo, duration_text, format_value, plural

HORIZON = pd.Timedelta("28D")
SNAKE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")
ZERO_CHANGE = re.compile(r"(?<![\d.,])[+-]0(?:\.0+)?(?![\d.,])|\bby 0\b|\b0\.0 ")
NAN = re.compile(r"\bnan\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def demo():
    """The demo: the bundled sample, trained on the last complete horizon, scored at its end."""
    data = load_sample()
    train_as_of = (pd.Timestamp(SAMPLE_AS_OF) - HORIZON).floor("D")
    pipe = cp.ChurnPipeline(model=cp.ChurnModel(n_jobs=1), currency="€").fit(
        data, as_of=train_as_of
    )
    scores = pipe.score(data, SAMPLE_AS_OF)
    return data, pipe, scores, at_risk_list(scores)


@pytest.fixture(scope="module")
def infos(demo):
    _, pipe, _, _ = demo
    return {i.name: i for b in pipe.builders_ for i in b.feature_info()}


def _reason_cells(frame: pd.DataFrame) -> list[str]:
    cells = frame[[f"reason_{k}" for k in (1, 2, 3)]].to_numpy().ravel()
    return [str(c) for c in cells if isinstance(c, str) and c]


def _bad_plurals(infos: dict[str, FeatureInfo]) -> list[str]:
    nouns = {i.noun for i in infos.values() if i.noun}
    return [f"1 {plural(n)}" for n in nouns] + [f"1 {u}s" for u in ("day", "week", "month", "year")]


def test_every_reason_in_the_demo_list_reads_as_plain_words(demo, infos):
    _, _, scores, frame = demo
    reasons = _reason_cells(frame)
    top = frame.head(len(frame) // 10)  # the customers a retention team calls
    # 1.7 facts per customer on average (each fact one line, each worth a probability point)
    assert len(_reason_cells(top)) > 1.5 * len(top)
    assert (frame.head(len(frame) // 20)["reason_1"] != "").all()
    bad_plurals = _bad_plurals(infos)
    for text in reasons:
        assert not SNAKE.search(text), text
        assert "no data" not in text and not NAN.search(text), text
        assert not ZERO_CHANGE.search(text), text
        assert not any(re.search(rf"(?<![\d.,]){re.escape(b)}\b", text) for b in bad_plurals), text
        assert len(text) <= 90, text
    # amounts carry the configured currency
    money = [t for t in _reason_cells(scores) if " paid in the last " in t]
    assert money and all("€" in t for t in money)
    # every reason slot has a group and a weight of at least the default threshold
    for k in (1, 2, 3):
        said = scores[f"reason_{k}"] != ""
        assert (scores.loc[said, f"reason_group_{k}"] != "").all()
        assert (scores.loc[said, f"reason_weight_{k}"] >= 0.01 - 1e-12).all()
        assert scores.loc[~said, f"reason_weight_{k}"].isna().all()


def test_no_customer_hears_one_fact_three_times(demo, infos):
    """Near-duplicates: the same declared fact key, or |rank correlation| >= 0.8 over the
    training population (three training cutoffs)."""
    data, pipe, scores, _ = demo
    X = pd.concat([pipe.features(data, c) for c in pipe.cutoffs_[-3:]])
    feats = scores[[f"reason_feature_{k}" for k in (1, 2, 3)]]
    pairs = set()
    for a, b in itertools.combinations(feats.columns, 2):
        both = (feats[a] != "") & (feats[b] != "")
        pairs |= set(zip(feats.loc[both, a], feats.loc[both, b], strict=True))
    assert pairs
    numeric = X.select_dtypes("number")
    corr = numeric.corr(method="spearman")
    for a, b in pairs:
        assert infos[a].fact_key != infos[b].fact_key or infos[a].group != infos[b].group, (a, b)
        if a in corr.index and b in corr.index and infos[a].group == infos[b].group:
            assert abs(corr.loc[a, b]) < 0.8, (a, b, corr.loc[a, b])


def test_reasons_compare_with_peers(demo):
    _, pipe, scores, _ = demo
    assert set(pipe.feature_percentiles_) >= {"events_30d", "tenure_days"}
    grid = pipe.feature_percentiles_["events_30d"]
    assert len(grid) == 101 and grid == sorted(grid)
    compared = [t for t in _reason_cells(scores) if "% of customers" in t]
    assert len(compared) > 0.3 * len(_reason_cells(scores))
    # a customer "fewer than X% of customers" really is below that share of the peers
    row = scores[
        scores["reason_feature_1"].eq("events_30d") & scores["reason_1"].str.contains("fewer than")
    ]
    if len(row):
        share = int(re.search(r"fewer than (\d+)%", row["reason_1"].iloc[0]).group(1))
        value = float(re.match(r"([\d,]+)", row["reason_1"].iloc[0]).group(1).replace(",", ""))
        assert np.mean(np.asarray(grid) > value) >= share / 100 - 0.011


def test_the_waterfall_ends_at_the_listed_probability(demo):
    data, pipe, scores, frame = demo
    X = pipe.features(data, SAMPLE_AS_OF)
    listed = pipe.model_.predict_proba(X)[:, 1]
    ex = to_shap_explanation(pipe.model_, X, space="probability")
    np.testing.assert_allclose(ex.base_values + ex.values.sum(axis=1), listed, rtol=0, atol=1e-9)
    # same signs as the log-odds view, which stays available
    raw = to_shap_explanation(pipe.model_, X)
    assert np.all(np.sign(ex.values) * np.sign(raw.values) >= 0)
    np.testing.assert_allclose(
        raw.base_values + raw.values.sum(axis=1), pipe.model_.decision_function(X), atol=1e-4
    )
    # the report draws the first customer of the list from the same numbers
    from churnpredict._report import _contributions

    contrib = _contributions(pipe, pipe.features(data, SAMPLE_AS_OF))
    first = frame["customer_id"].iloc[0]
    end = contrib.base_probability.loc[first] + contrib.probability.loc[first].sum()
    assert end == pytest.approx(frame["churn_probability"].iloc[0], abs=1e-9)


def test_probability_attribution_is_exact_and_order_free():
    """Scaling by (p - p0) / (m - m0): a hand-checked row and a permuted one."""
    values = np.array([[1.0, -0.5, 0.25, -1.0], [0.3, 0.2, -0.1, 0.0]])
    p = lambda m: 1 / (1 + np.exp(-np.asarray(m)))  # noqa: E731
    contrib, base, prob = probability_contributions(values, p)
    margin = values.sum(axis=1)
    np.testing.assert_allclose(prob, p(margin))
    np.testing.assert_allclose(base + contrib.sum(axis=1), prob, atol=1e-15)
    slope = (p(-0.25) - p(-1.0)) / 0.75
    np.testing.assert_allclose(contrib[0], np.array([1.0, -0.5, 0.25]) * slope)
    swapped, _, _ = probability_contributions(values[:, [2, 0, 1, 3]], p)
    np.testing.assert_allclose(swapped[:, [1, 2, 0]], contrib)
    # margin equal to the base value: the derivative, no division by zero
    flat, _, _ = probability_contributions(np.array([[0.5, -0.5, 0.0]]), p)
    np.testing.assert_allclose(flat, [[0.5 * 0.25, -0.5 * 0.25]], atol=1e-8)


def test_threshold_is_configurable(demo):
    data, pipe, scores, _ = demo
    X = pipe.features(data, SAMPLE_AS_OF)
    info = cp._training.describe_feature_columns(pipe.builders_, pipe.feature_names_)
    strict = explain(
        pipe.model_,
        X,
        info,
        threshold=0.05,
        percentiles=pipe.feature_percentiles_,
        facts=pipe.reason_facts_,
    )
    weights = strict[[f"reason_weight_{k}" for k in (1, 2, 3)]].to_numpy()
    assert np.nanmin(weights) >= 0.05
    default = scores[[f"reason_weight_{k}" for k in (1, 2, 3)]].to_numpy()
    assert np.isfinite(default).sum() > np.isfinite(weights).sum()
    assert np.nanmin(default) < 0.05
    with pytest.raises(ValueError, match="threshold"):
        explain(pipe.model_, X.head(5), info, threshold=1.5)


@pytest.mark.parametrize("value", [0.0, 1.0, 2.0, 1234567.8, np.nan])
def test_templates_of_every_default_feature(value, infos):
    bad_plurals = _bad_plurals(infos)
    for info in infos.values():
        if info.kind == "category":
            continue
        text = info.describe(value, "€")
        if np.isnan(value):
            assert text == (info.description_if_missing or ""), info.name
            continue
        if info.kind in ("change", "money_change", "share_change") and value == 0:
            assert text == "", info.name
            continue
        assert text, info.name
        assert not SNAKE.search(text) and "no data" not in text and not NAN.search(text), text
        assert not ZERO_CHANGE.search(text), text
        assert not any(re.search(rf"(?<![\d.,]){re.escape(b)}\b", text) for b in bad_plurals), text
        if value == 1234567.8 and info.kind in ("count", "money", "number", "rate", "change"):
            assert "1,234,56" in text, text
        if info.kind in ("money", "money_change") and value != 0:
            assert "€" in text, text
        if info.kind == "count" and info.noun and value == 1:
            assert f"1 {info.noun.split('|')[0]}" in text, text


def test_plain_number_words():
    assert format_value(1, "count", "support ticket") == "1 support ticket"
    assert format_value(2, "count", "reply") == "2 replies"
    assert format_value(1234567.8, "money", currency="€") == "€1,234,568"
    assert format_value(49.9, "money", currency="$") == "$49.90"
    assert format_value(-20, "money_change", currency="€") == "-€20"
    assert format_value(0.456, "share") == "46%"
    assert [duration_text(d) for d in (0.2, 1, 6, 21, 45, 62, 400, 800)] == [
        "less than a day",
        "1 day",
        "6 days",
        "3 weeks",
        "6 weeks",
        "2 months",
        "13 months",
        "2 years",
    ]


@given(st.integers(min_value=0, max_value=10**9))
def test_count_nouns_agree_with_their_number(n):
    text = format_value(float(n), "count", "failed payment")
    assert text == f"{n:,d} failed payment" + ("" if n == 1 else "s")


def test_missing_means_nothing_unless_the_family_says_so():
    silent = FeatureInfo(
        "price_change_pct_90d", "monetary", "price changed {value}", kind="share_change"
    )
    assert silent.describe(np.nan) == "" and silent.describe(0.0) == ""
    assert silent.describe(0.1) == "price changed +10%"
    told = FeatureInfo(
        "days_since_last_login",
        "engagement",
        "last login {value} ago",
        description_if_missing="no login yet",
        kind="days",
    )
    assert told.describe(np.nan) == "no login yet" and told.describe(14) == "last login 2 weeks ago"


@pytest.mark.slow
def test_excel_list_reads_as_a_list(demo, tmp_path):
    from openpyxl import load_workbook

    _, _, _, frame = demo
    path = write_at_risk(frame, tmp_path / "at_risk.xlsx", currency="€")
    book = load_workbook(path)
    sheet = book["at_risk"]
    header = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}{len(frame) + 1}"
    col = {name: i + 1 for i, name in enumerate(header)}
    assert sheet.cell(2, col["churn_probability"]).number_format == "0.0%"
    assert "€" in sheet.cell(2, col["revenue_at_risk"]).number_format
    assert "#,##0" in sheet.cell(2, col["mrr"]).number_format
    rules = [r for rng in sheet.conditional_formatting for r in rng.rules]
    assert {r.formula[0].split('"')[1] for r in rules} >= {"high", "medium", "low"}
    legend = pd.read_excel(path, sheet_name="legend").fillna("")
    groups = legend[legend["topic"] == "driver group"].set_index("name")
    shown = set(frame["reason_group_1"].replace("", np.nan).dropna())
    assert shown <= set(groups.index)
    for group, status, action in (
        frame[["reason_group_1", "status", "suggested_action"]]
        .drop_duplicates(["reason_group_1", "status"])
        .itertuples(index=False)
    ):
        if group:
            assert groups.loc[group, f"action_{status}"] == action
    assert set(legend.loc[legend["topic"] == "risk tier", "name"]) == {"high", "medium", "low"}


def test_reason_compares_with_the_customers_own_past():
    import xgboost as xgb

    X = pd.DataFrame(
        {
            "events_30d": [2.0] * 10 + [20.0] * 10,
            "activity_trend_diff_30d": [-12.0] * 10 + [0.0] * 10,
        }
    )
    y = np.array([1] * 8 + [0] * 2 + [0] * 8 + [1] * 2)
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
    info = [
        FeatureInfo(
            "events_30d",
            "engagement",
            "{value} in the last 30 days",
            kind="count",
            noun="activity event",
            past_change="activity_trend_diff_30d",
            past_label="the 30 days before",
        ),
        FeatureInfo(
            "activity_trend_diff_30d",
            "engagement",
            "{value} in the last 30 days vs the 30 days before",
            kind="change",
            noun="activity event",
        ),
    ]
    out = explain(
        booster,
        X,
        info,
        top=2,
        percentiles={"events_30d": list(np.percentile(X["events_30d"], np.arange(101)))},
    )
    assert out["reason_1"].iloc[0] == (
        "2 activity events in the last 30 days, down from 14 the 30 days before"
    )
    assert out["reason_group_1"].iloc[0] == "engagement"
    # the busy customers have no reason; the zero change is never one
    assert (out["reason_1"].iloc[10:] == "").all()


def test_every_reason_in_a_purchase_mode_list_reads_as_plain_words():
    """The same checks on a shop's list (purchase mode, lapsed customers, BG/NBD features)."""
    from test_business import make_shop

    shop = cp.EventData(**make_shop(n_customers=500, seed=4))
    end = pd.Timestamp("2024-12-31")
    pipe = cp.ChurnPipeline(
        model=cp.ChurnModel(n_estimators=40, n_jobs=1),
        horizon="60D",
        n_cutoffs=8,
        cutoff_freq="30D",
    ).fit(shop, as_of=end)
    assert pipe.business_ == "purchases"
    frame = at_risk_list(pipe.score(shop, end))
    infos = {i.name: i for b in pipe.builders_ for i in b.feature_info()}
    reasons = _reason_cells(frame)
    top = frame.head(len(frame) // 10)
    assert (top["reason_1"] != "").mean() > 0.9
    bad_plurals = _bad_plurals(infos)
    for text in reasons:
        assert not SNAKE.search(text), text
        assert "no data" not in text and not NAN.search(text), text
        assert not ZERO_CHANGE.search(text), text
        assert not re.search(r"mrr|price", text, re.IGNORECASE), text
        assert not any(re.search(rf"(?<![\d.,]){re.escape(b)}\b", text) for b in bad_plurals), text
        assert len(text) <= 90, text
