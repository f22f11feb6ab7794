"""Business kinds: subscriptions vs purchases, everyone scored with a status, revenue at risk.

The purchase data is a small simulated shop in the shape of the UCI Online Retail invoices
(see :func:`make_shop`): every order is a succeeded payment and a ``purchase`` activity event
with its value, a customer's first order is their ``signup_at``, and there is no
``churned_at``. The subscription data is the package's simulated subscription business.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from churnpredict import EventData, at_risk_list, cli
from churnpredict._evaluate import profit_curve, profit_curve_from_scores
from churnpredict._exceptions import ChurnDataError, ChurnModelError
from churnpredict._export import (
    AT_RISK_COLUMNS,
    DEFAULT_ACTIONS,
    PURCHASE_AT_RISK_COLUMNS,
    value_if_retained,
    write_at_risk,
)
from churnpredict._labels import customer_status, label_churn, population
from churnpredict._model import ChurnModel
from churnpredict._pipeline import ChurnPipeline, business_kind
from churnpredict.datasets import ONLINE_RETAIL_SETTINGS, load_sample, make_subscription_data
from churnpredict.features import (
    MonetaryFeatures,
    SpendFeatures,
    default_builders,
    expected_spend,
)

END = pd.Timestamp("2024-12-31")
HORIZON = pd.Timedelta("60D")
LOOKBACK = pd.Timedelta("90D")
SUB_AS_OF = pd.Timestamp("2024-11-30")
NO_MRR_OR_PRICE = re.compile(r"mrr|price", re.IGNORECASE)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def make_shop(n_customers: int = 500, seed: int = 3) -> dict[str, pd.DataFrame]:
    """An online shop, 2023-01-01 .. 2024-12-31, in the shape of the Online Retail invoices.

    Customers arrive over the first 80% of the period and order as a Poisson process (rate
    drawn per customer, mean about one order a month) until they drop out after an
    exponential lifetime (mean 300 days); order values are log-normal around a per-customer
    mean. Many customers are lapsed at any cutoff: they stopped ordering long ago.
    """
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01")
    span = (END - start).days
    first = rng.uniform(0, 0.8 * span, n_customers)
    rate = rng.gamma(1.5, 1 / 45, n_customers)
    life = rng.exponential(300, n_customers)
    stop = np.minimum(first + life, span - 1e-3)
    n_more = rng.poisson(rate * (stop - first))
    who = np.repeat(np.arange(n_customers), n_more)
    when = first[who] + rng.uniform(0, 1, len(who)) * (stop - first)[who]
    who = np.concatenate([np.arange(n_customers), who])
    when = np.concatenate([first, when])
    basket = rng.lognormal(3.5, 0.6, n_customers)
    amount = np.round(basket[who] * rng.lognormal(0, 0.4, len(who)), 2)
    stamps = start + pd.to_timedelta(np.round(when * 86_400), unit="s")
    ids = np.arange(10_000, 10_000 + n_customers)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_at": start + pd.to_timedelta(np.round(first * 86_400), unit="s"),
        }
    )
    payments = pd.DataFrame(
        {"customer_id": ids[who], "timestamp": stamps, "amount": amount, "status": "succeeded"}
    )
    activity = pd.DataFrame(
        {"customer_id": ids[who], "timestamp": stamps, "event": "purchase", "value": amount}
    )
    return {"customers": customers, "payments": payments, "activity": activity}


@pytest.fixture(scope="module")
def shop_tables():
    return make_shop()


@pytest.fixture(scope="module")
def shop(shop_tables):
    return EventData(**shop_tables)


def _small_model() -> ChurnModel:
    return ChurnModel(n_estimators=40, n_jobs=1, validation_cutoffs=1)


@pytest.fixture(scope="module")
def shop_pipe(shop):
    return ChurnPipeline(
        model=_small_model(), horizon=HORIZON, n_cutoffs=8, cutoff_freq="30D", lookback=LOOKBACK
    ).fit(shop, as_of=END)


@pytest.fixture(scope="module")
def shop_scores(shop_pipe, shop):
    return shop_pipe.score(shop, END)


# ------------------------------------------------------------------------------ detection
def test_detection_on_the_sample_is_subscription():
    kind, why = business_kind(load_sample())
    assert kind == "subscription" and "churned_at" in why


def test_detection_on_purchase_data_is_purchases(shop, shop_tables):
    kind, why = business_kind(shop)
    assert kind == "purchases"
    assert "one-off orders" in why
    # the share quoted is the share of customers with 3+ orders whose gaps are regular
    share = int(re.search(r"only (\d+)%", why).group(1))
    assert share < 50
    # orders logged as activity only (no payments table): still purchases
    activity_only = EventData(shop_tables["customers"], activity=shop_tables["activity"])
    assert business_kind(activity_only)[0] == "purchases"
    # a value given is kept as it is
    assert business_kind(shop, "subscription") == ("subscription", "set: business='subscription'")
    with pytest.raises(ChurnModelError, match="business='shop'"):
        business_kind(shop, "shop")


def test_detection_reads_recurring_payments_as_subscription():
    """Without churned_at or mrr, monthly billing still reads as a subscription."""
    sub = make_subscription_data(n_customers=200, random_state=2)
    customers = sub.customers.drop(columns=["churned_at", "churn_type", "mrr"], errors="ignore")
    data = EventData(customers, activity=sub.activity, payments=sub.payments)
    kind, why = business_kind(data)
    assert kind == "subscription" and "payments recur" in why


def test_purchase_pipeline_says_which_and_why(shop_pipe):
    assert shop_pipe.business_ == "purchases"
    assert shop_pipe.label_kind_ == "inactivity"  # label="auto" on a shop: no purchase
    summary = shop_pipe.summary
    assert summary.loc[("training", "business")].item() == "purchases"
    assert "one-off orders" in summary.loc[("training", "business_reason")].item()
    assert summary.loc[("status", "lapsed")].item() == str(shop_pipe.training_statuses_["lapsed"])


# ------------------------------------------------------------------------------ no MRR, no price
def test_purchase_mode_has_no_mrr_or_price(shop_pipe, shop_scores, shop, tmp_path):
    assert any(isinstance(b, SpendFeatures) for b in shop_pipe.builders_)
    assert not any(isinstance(b, MonetaryFeatures) for b in shop_pipe.builders_)
    info = shop_pipe.feature_info_
    assert not [n for n in info.index if NO_MRR_OR_PRICE.search(n)]
    assert not info["description"].str.contains(NO_MRR_OR_PRICE).any()
    assert {
        "spent_90d",
        "avg_order_value_180d",
        "spend_per_month_180d",
        "spend_trend_pct_90d",
    } <= set(info.index)
    assert list(shop_scores.columns[:3]) == ["churn_probability", "expected_spend", "status"]
    assert "mrr" not in shop_scores.columns
    at_risk = at_risk_list(shop_scores, horizon=HORIZON)
    assert list(at_risk.columns) == list(PURCHASE_AT_RISK_COLUMNS)
    text = pd.concat([at_risk[c].astype(str) for c in at_risk.columns])
    assert not text.str.contains(NO_MRR_OR_PRICE).any()
    assert not any(NO_MRR_OR_PRICE.search(c) for c in at_risk.columns)
    # the monetary group's action is a shopper's, not a price review
    monetary = at_risk.loc[at_risk["reason_group_1"] == "monetary", "suggested_action"]
    assert (monetary != DEFAULT_ACTIONS["monetary"]).all()
    # every customer at the top has a reason (low-risk ones may have none: a reason must
    # raise the risk by at least the reason threshold)
    top = at_risk.head(max(len(at_risk) // 10, 1))
    assert (top["reason_1"] != "").mean() > 0.9
    # and the written file and its legend say nothing of MRR or price either
    path = write_at_risk(at_risk, tmp_path / "shop.xlsx")
    legend = pd.read_excel(path, sheet_name="legend")
    assert not legend["meaning"].astype(str).str.contains(NO_MRR_OR_PRICE).any()


def test_default_builders_by_business():
    assert [type(b).__name__ for b in default_builders("purchases")][3] == "SpendFeatures"
    assert [type(b).__name__ for b in default_builders()][3] == "MonetaryFeatures"
    with pytest.raises(ValueError, match="business='shop'"):
        default_builders("shop")


# ------------------------------------------------------------------------------ revenue at risk
def test_expected_spend_and_revenue_at_risk_follow_the_formula():
    """Cutoff 2024-06-01, horizon 90 days, trailing window 365 days.

    * A: 100 on 2023-04-01 (outside the year), 50 on 2023-12-01 and 30 on 2024-05-22:
      80 over the whole year -> 80 / 365 x 90;
    * B: first order (60) 20 days before the cutoff: the rate is taken over one horizon at
      least -> 60 / 90 x 90 = 60;
    * C: first order 200 days before the cutoff, two orders of 100 -> 200 / 200 x 90 = 90;
      a refund and a failed payment do not count, nor an order exactly at the cutoff;
    * D: only orders after the cutoff -> 0.
    """
    customers = pd.DataFrame({"customer_id": list("ABCD"), "signup_at": "2023-01-01"})
    payments = pd.DataFrame(
        {
            "customer_id": list("AAABCCCCCD"),
            "timestamp": [
                "2023-04-01",
                "2023-12-01",
                "2024-05-22",
                "2024-05-12",
                "2023-11-14",
                "2024-03-01",
                "2024-03-02",
                "2024-03-03",
                "2024-06-01",
                "2024-07-01",
            ],
            "amount": [100.0, 50.0, 30.0, 60.0, 100.0, 100.0, 40.0, 70.0, 999.0, 80.0],
            "status": ["succeeded"] * 6 + ["refunded", "failed", "succeeded", "succeeded"],
        }
    )
    data = EventData(customers, payments=payments)
    cut = pd.Timestamp("2024-06-01")
    rows = pd.MultiIndex.from_product([list("ABCD"), [cut]], names=["customer_id", "cutoff"])
    spend = expected_spend(data, rows, "90D").droplevel("cutoff")
    expected = pd.Series({"A": 80 / 365 * 90, "B": 60.0, "C": 90.0, "D": 0.0})
    pd.testing.assert_series_equal(spend, expected, check_names=False, check_index_type=False)

    proba = pd.Series({"A": 0.5, "B": 0.2, "C": 0.9, "D": 0.4})
    scores = pd.DataFrame(
        {"churn_probability": proba, "expected_spend": spend, "status": "active"},
        index=pd.Index(list("ABCD"), name="customer_id"),
    )
    at_risk = at_risk_list(scores, horizon="90D").set_index("customer_id")
    # revenue at risk = churn probability x expected spend over the horizon (no months factor)
    np.testing.assert_allclose(
        at_risk.loc[list("ABCD"), "revenue_at_risk"], (proba * expected).to_numpy()
    )
    np.testing.assert_allclose(value_if_retained(scores, "90D"), expected.to_numpy())
    # the profit view values a save at the same expected spend
    curve = profit_curve_from_scores(scores, "90D", contact_cost=5.0, save_rate=0.5)
    by_hand = profit_curve(
        proba.to_numpy(), expected.to_numpy(), horizon_months=1.0, contact_cost=5.0, save_rate=0.5
    )
    pd.testing.assert_frame_equal(curve, by_hand)
    assert curve.attrs["value"] == "expected_spend"
    assert curve.loc[1, "expected_saved_revenue"] == pytest.approx(0.9 * 0.5 * 90.0)


def test_scored_expected_spend_equals_a_direct_count(shop_scores, shop_tables):
    """Each shopper's trailing-year spend rate x 60 days, counted with plain pandas."""
    pay = shop_tables["payments"]
    year = pay[(pay["timestamp"] >= END - pd.Timedelta("365D")) & (pay["timestamp"] < END)]
    spent = year.groupby("customer_id")["amount"].sum()
    first = pay[pay["timestamp"] < END].groupby("customer_id")["timestamp"].min()
    days = ((END - first) / pd.Timedelta(days=1)).clip(60, 365)
    direct = (spent.reindex(first.index, fill_value=0.0) / days * 60).reindex(shop_scores.index)
    np.testing.assert_allclose(shop_scores["expected_spend"], direct, rtol=1e-9)


# ------------------------------------------------------------------------------ status, lapsed
def _status_by_hand(tables: dict[str, pd.DataFrame], cut: pd.Timestamp) -> pd.Series:
    customers = tables["customers"].set_index("customer_id")
    act = tables["activity"]
    recent = act[(act["timestamp"] >= cut - LOOKBACK) & (act["timestamp"] < cut)]
    alive = customers.index[customers["signup_at"] < cut]
    out = pd.Series("lapsed", index=alive, dtype=object)
    out[alive.isin(recent["customer_id"])] = "active"
    out[customers.loc[alive, "signup_at"] >= cut - HORIZON] = "new"
    return out


def test_everyone_is_scored_with_a_status(shop_scores, shop_tables):
    by_hand = _status_by_hand(shop_tables, END)
    assert len(shop_scores) == len(by_hand)  # every customer with any history
    got = shop_scores["status"]
    pd.testing.assert_series_equal(
        got.sort_index(),
        by_hand.sort_index(),
        check_names=False,
        check_index_type=False,
        check_dtype=False,
    )
    counts = got.value_counts()
    assert counts["lapsed"] > 50 and counts["active"] > 50
    # the lapsed are more likely not to buy again than the active
    mean = shop_scores.groupby("status")["churn_probability"].mean()
    assert mean["lapsed"] > mean["active"]


def test_lapsed_customers_are_training_rows(shop_pipe, shop, shop_tables):
    labels = label_churn(
        shop,
        shop_pipe.cutoffs_,
        HORIZON,
        kind="inactivity",
        as_of=END,
        lookback=LOOKBACK,
        lapsed=True,
    )
    assert shop_pipe.training_summary_["n_rows"] == len(labels)
    status = customer_status(shop, labels.index, HORIZON, kind="inactivity", lookback=LOOKBACK)
    assert shop_pipe.training_statuses_ == status.value_counts().sort_index().to_dict()
    assert shop_pipe.training_statuses_["lapsed"] > 100
    # a lapsed customer is a 0 when they order again within the horizon, else a 1
    cut = shop_pipe.cutoffs_[-1]
    at_cut = labels.xs(cut, level="cutoff")["churned"]
    lapsed = status.xs(cut, level="cutoff")
    lapsed = lapsed.index[lapsed == "lapsed"]
    act = shop_tables["activity"]
    back = set(
        act.loc[(act["timestamp"] > cut) & (act["timestamp"] <= cut + HORIZON), "customer_id"]
    )
    expected = pd.Series([0 if c in back else 1 for c in lapsed], index=lapsed)
    assert (at_cut.loc[lapsed].to_numpy() == expected.to_numpy()).all()
    assert 0 < expected.sum() < len(expected)  # some come back, some do not
    # the default population follows the pipeline's rule (lapsed customers in with inactivity
    # churn); lapsed=False keeps the customers active in the lookback only
    narrow = population(shop, [cut], kind="inactivity", lookback=LOOKBACK, lapsed=False)
    wide = population(shop, [cut], kind="inactivity", lookback=LOOKBACK)
    assert wide.index.equals(
        population(shop, [cut], kind="inactivity", lookback=LOOKBACK, lapsed=True).index
    )
    extra = status.loc[wide.index[~wide.index.isin(narrow.index)]]
    assert (extra == "lapsed").sum() == len(lapsed) and set(extra) <= {"lapsed", "new"}


def test_status_filter_in_the_list(shop_scores):
    everyone = at_risk_list(shop_scores, horizon=HORIZON)
    lapsed = at_risk_list(shop_scores, horizon=HORIZON, status="lapsed")
    assert (lapsed["status"] == "lapsed").all()
    assert len(lapsed) == (shop_scores["status"] == "lapsed").sum()
    assert lapsed["rank"].tolist() == list(range(1, len(lapsed) + 1))
    # tiers are those of the whole list
    tiers = everyone.set_index("customer_id")["risk_tier"]
    assert (lapsed.set_index("customer_id")["risk_tier"] == tiers.loc[lapsed["customer_id"]]).all()
    two = at_risk_list(shop_scores, horizon=HORIZON, status=["active", "new"])
    assert set(two["status"]) <= {"active", "new"}
    assert len(two) + len(lapsed) == len(everyone)
    with pytest.raises(ValueError, match="status='gone'"):
        at_risk_list(shop_scores, horizon=HORIZON, status="gone")
    with pytest.raises(ChurnDataError, match="no status column"):
        at_risk_list(shop_scores.drop(columns="status"), horizon=HORIZON, status="lapsed")


# ------------------------------------------------------------------------------ CLI
def test_cli_business_and_status(tmp_path, shop_tables):
    folder = tmp_path / "shop"
    folder.mkdir()
    for name, frame in shop_tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    config = tmp_path / "shop.toml"
    config.write_text(
        'horizon = "60D"\nn_cutoffs = 6\ncutoff_freq = "30D"\n'
        'lookback = "90D"\n[model]\nn_estimators = 30\nn_jobs = 1\n'
        "validation_cutoffs = 1\n"
    )
    runner = CliRunner()
    model = tmp_path / "model"
    result = runner.invoke(
        cli.app, ["train", str(folder), "--model", str(model), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert "business: purchases (no churned_at, and payments look like one-off orders" in " ".join(
        result.stdout.split()
    )

    out = tmp_path / "lapsed.csv"
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
            str(out),
            "--status",
            "lapsed",
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert (frame["status"] == "lapsed").all()
    by_hand = _status_by_hand(shop_tables, END).value_counts()
    line = " ".join(result.stdout.split())
    scored = (
        f"Scored {len(_status_by_hand(shop_tables, END)):,} customers "
        f"({by_hand['active']:,} active, {by_hand['lapsed']:,} lapsed, "
        f"{by_hand.get('new', 0):,} new)"
    )
    assert scored in line, line
    assert f"wrote {len(frame):,} rows to {out} (0 active, {len(frame):,} lapsed, 0 new)" in line, (
        line
    )
    assert len(frame) == by_hand["lapsed"]
    assert "expected_spend" in frame.columns and "mrr" not in frame.columns

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
            str(out),
            "--business",
            "subscription",
        ],
    )
    assert result.exit_code == 2
    assert "the model was trained for purchases data" in result.stderr
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
            str(out),
            "--status",
            "gone",
        ],
    )
    assert result.exit_code == 2 and "--status 'gone'" in result.stderr


# ------------------------------------------------------------------------------ subscriptions
@pytest.fixture(scope="module")
def subscribers():
    return make_subscription_data(n_customers=400, random_state=11)


def test_subscription_mode_is_unchanged(subscribers, tmp_path):
    """Auto detection picks subscription on subscription data, and then everything is as with
    the subscription families given explicitly: same features (MRR and price included), same
    probabilities, MRR and revenue at risk; the status column is active/new only."""
    auto = ChurnPipeline(model=_small_model(), n_cutoffs=6).fit(subscribers, as_of=SUB_AS_OF)
    explicit = ChurnPipeline(
        builders=default_builders("subscription"),
        model=_small_model(),
        n_cutoffs=6,
        label="cancellation",
    ).fit(subscribers, as_of=SUB_AS_OF)
    assert auto.business_ == "subscription" and auto.label_kind_ == "cancellation"
    assert auto.feature_names_ == explicit.feature_names_
    assert {"mrr", "price_change_pct_90d"} <= set(auto.feature_names_)
    ours, theirs = auto.score(subscribers, END), explicit.score(subscribers, END)
    pd.testing.assert_frame_equal(ours, theirs)
    assert list(ours.columns[:3]) == ["churn_probability", "mrr", "status"]
    assert set(ours["status"]) <= {"active", "new"}
    assert auto.training_statuses_.get("lapsed", 0) == 0
    listed = at_risk_list(ours, horizon="28D")
    assert list(listed.columns) == list(AT_RISK_COLUMNS)
    assert set(listed["status"]) <= {"active", "new"}
    months = 28 / (365.25 / 12)
    np.testing.assert_allclose(
        listed["revenue_at_risk"], listed["churn_probability"] * listed["mrr"] * months
    )
    # the bundle keeps the business kind and the training statuses
    auto.save(tmp_path / "model")
    loaded = ChurnPipeline.load(tmp_path / "model")
    assert loaded.business_ == "subscription" and loaded.business == "auto"
    assert loaded.training_statuses_ == auto.training_statuses_
    pd.testing.assert_frame_equal(loaded.score(subscribers, END), ours)


def test_business_parameter_is_checked(subscribers):
    with pytest.raises(ChurnModelError, match="business='shop'"):
        ChurnPipeline(business="shop").fit(subscribers)


# ------------------------------------------------------------------------------ README, recipe
ROOT = Path(__file__).resolve().parents[1]
RETAIL = (
    ROOT.parent / "shared" / "data" / "online-retail-uci-invoices" / "online_retail_invoices.csv.gz"
)


def _readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Purchase data (shops, marketplaces)")
    return text[start : text.index("\n## ", start + 10)]


def test_recipe_settings_set_purchase_mode():
    pipe = ChurnPipeline(**ONLINE_RETAIL_SETTINGS)
    assert pipe.get_params()["business"] == "purchases"
    assert pipe.get_params()["label"] == "inactivity"


def test_readme_purchase_commands_run(tmp_path, shop_tables, monkeypatch):
    """The section's two commands, on the simulated shop instead of the invoices."""
    folder = tmp_path / "shop"
    folder.mkdir()
    for name, frame in shop_tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    (tmp_path / "small.toml").write_text(
        'n_cutoffs = 6\ncutoff_freq = "30D"\n'
        "[model]\nn_estimators = 30\n"
        "n_jobs = 1\nvalidation_cutoffs = 1\n"
    )
    monkeypatch.chdir(tmp_path)
    block = re.findall(r"```bash\n(.*?)```", _readme_section(), flags=re.S)[0]
    commands = [line for line in block.splitlines() if line.startswith("churnpredict")]
    assert [c.split()[1] for c in commands] == ["train", "score"]
    runner = CliRunner()
    for command in commands:
        args = shlex.split(command.replace("2011-12-09", "2024-12-31"))[1:]
        result = runner.invoke(cli.app, [*args, "--config", "small.toml"])
        assert result.exit_code == 0, (command, result.output)
    frame = pd.read_csv(tmp_path / "winback.csv")
    assert len(frame) > 0 and (frame["status"] == "lapsed").all()


@pytest.mark.slow
@pytest.mark.skipif(not RETAIL.is_file(), reason="Online Retail invoices not beside the project")
def test_readme_purchase_example_runs_on_online_retail(tmp_path, monkeypatch):
    monkeypatch.chdir(RETAIL.parent)
    code = re.findall(r"```python\n(.*?)```", _readme_section(), flags=re.S)[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    pipe, scores = namespace["pipe"], namespace["scores"]
    assert pipe.business_ == "purchases"
    assert set(scores["status"]) == {"active", "lapsed", "new"}
    assert (namespace["winback"]["status"] == "lapsed").all()
    assert len(namespace["retention"]) == 100
