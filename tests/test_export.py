"""Ranked at-risk lists and their atomic, spreadsheet-safe files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnpredict._exceptions import ChurnDataError
from churnpredict._export import (
    AT_RISK_COLUMNS,
    DEFAULT_ACTIONS,
    at_risk_list,
    base_rate_tiers,
    list_base_rate,
    tier_meanings,
    write_at_risk,
)

MONTHS_28D = 28 / (365.25 / 12)


@pytest.fixture
def scores():
    """Ten scored customers, as ChurnPipeline.score returns them.

    * ``a`` is the likeliest to churn (0.9) and pays 100 a month; support drives it;
    * ``b`` (0.6) pays the most (500), so it leads when ranking by revenue; payments drive it;
    * ``c`` and ``d`` tie at 0.5; ``d`` pays more, so it ranks first among the two;
    * ``e`` has unknown MRR (no revenue at risk) and a reason written like a formula;
    * ``f``..``j`` are low risk and have no reason raising their risk.
    """
    ids = list("abcdefghij")
    frame = pd.DataFrame(
        {
            "churn_probability": [0.9, 0.6, 0.5, 0.5, 0.4, 0.1, 0.08, 0.05, 0.03, 0.01],
            "mrr": [100.0, 500.0, 10.0, 20.0, np.nan, 50.0, 50.0, 50.0, 50.0, 50.0],
            "reason_1": [
                "3 open tickets",
                "2 failed payments",
                "logins down 70%",
                "logins down 50%",
                '=HYPERLINK("http://x")',
                "",
                "",
                "",
                "",
                "",
            ],
            "reason_2": ["on the basic plan", "", "", "", "-5 days", "", "", "", "", ""],
            "reason_3": [""] * 10,
            "reason_group_1": [
                "support",
                "payments",
                "engagement",
                "engagement",
                "monetary",
                "",
                "",
                "",
                "",
                "",
            ],
            "reason_group_2": ["profile", "", "", "", "tenure", "", "", "", "", ""],
            "reason_group_3": [""] * 10,
            "reason_weight_1": [0.3, 0.2, 0.1, 0.1, 0.05] + [np.nan] * 5,
        },
        index=pd.Index(ids, name="customer_id"),
    )
    return frame


def test_columns_order_and_probability_ranking(scores):
    out = at_risk_list(scores)
    assert list(out.columns) == list(AT_RISK_COLUMNS)
    assert out["rank"].tolist() == list(range(1, 11))
    assert out["customer_id"].tolist() == list("abdcefghij")
    first = out.iloc[0]
    assert first["revenue_at_risk"] == pytest.approx(0.9 * 100 * MONTHS_28D)
    assert first["suggested_action"] == DEFAULT_ACTIONS["support"]
    assert (
        out.loc[out["customer_id"] == "b", "suggested_action"].item()
        == "billing help: card update and dunning follow-up"
    )
    assert np.isnan(out.loc[out["customer_id"] == "e", "revenue_at_risk"].item())
    assert out.loc[out["customer_id"] == "j", "suggested_action"].item() == ""


def test_rank_by_revenue_puts_unknown_last(scores):
    out = at_risk_list(scores, rank_by="revenue", horizon="30D")
    assert out["customer_id"].iloc[0] == "b"
    assert out["customer_id"].iloc[-1] == "e"
    assert out["revenue_at_risk"].iloc[0] == pytest.approx(0.6 * 500 * 30 / (365.25 / 12))


def test_top_and_min_probability(scores):
    assert at_risk_list(scores, top=3)["customer_id"].tolist() == ["a", "b", "d"]
    kept = at_risk_list(scores, min_probability=0.5)
    assert kept["customer_id"].tolist() == ["a", "b", "d", "c"]
    assert kept["rank"].tolist() == [1, 2, 3, 4]
    assert len(at_risk_list(scores, top=0)) == 0


def test_default_tiers_compare_with_the_base_rate(scores):
    """Ten customers with a mean probability of 0.317: high from 50% (twice the base rate
    would be 63%), medium from the base rate, low below it; a top-2 list keeps the tiers
    of all ten, and the list records them."""
    out = at_risk_list(scores)
    base = scores["churn_probability"].mean()
    assert out.attrs["base_rate"] == pytest.approx(base)
    assert out.attrs["tiers"] == pytest.approx({"low": 0.0, "medium": base, "high": 0.5})
    assert out.set_index("customer_id")["risk_tier"].to_dict() == {
        "a": "high",
        "b": "high",
        "d": "high",
        "c": "high",
        "e": "medium",
        **dict.fromkeys("fghij", "low"),
    }
    assert at_risk_list(scores, top=2)["risk_tier"].tolist() == ["high", "high"]
    # nobody at 50% or more is ever low, whatever the base rate
    assert not ((out["risk_tier"] == "low") & (out["churn_probability"] >= 0.5)).any()


def test_base_rate_tiers_say_what_they_mean():
    assert base_rate_tiers(0.04) == pytest.approx({"low": 0.0, "medium": 0.04, "high": 0.08})
    assert base_rate_tiers(0.6) == {"low": 0.0, "medium": 0.5, "high": 0.5}
    meanings = tier_meanings(base_rate_tiers(0.04), 0.04)
    assert list(meanings) == ["high", "medium", "low"]
    assert meanings["high"].startswith("churn probability 8.0% or more: at least twice")
    assert meanings["low"] == "churn probability below 4.0%: below the base rate (4.0%)"
    # above a 50% base rate there is no medium tier: high starts at 50%
    assert list(tier_meanings(base_rate_tiers(0.6), 0.6)) == ["high", "low"]
    # a handful of scores compare with the training rate the scores carry
    assert list_base_rate(0.9, 3, {"base_rate": 0.05}) == 0.05
    assert list_base_rate(0.9, 300, {"base_rate": 0.05}) == 0.9


@pytest.mark.parametrize("tiers", [{"high": 0.8}, {"high": 0.7, "low": 0.0}])
def test_tiers_that_would_call_a_likely_leaver_low_are_refused(scores, tiers):
    with pytest.raises(ValueError, match="50% churn probability or more would be 'low'"):
        at_risk_list(scores, tiers=tiers)


def test_probability_ties_are_ordered_by_revenue_at_risk(scores):
    """c and d differ in the fifth decimal only: both show as 50.0%, so d, with more revenue
    at risk, comes first whichever is a hair likelier."""
    scores.loc["c", "churn_probability"] = 0.50004
    out = at_risk_list(scores)
    assert out["customer_id"].tolist()[2:4] == ["d", "c"]


def test_threshold_tiers(scores):
    out = at_risk_list(scores, tiers={"urgent": 0.8, "watch": 0.45})
    assert out["risk_tier"].tolist() == ["urgent", "watch", "watch", "watch"] + ["low"] * 6
    out = at_risk_list(scores, tiers={"high": 0.5, "rest": 0.0})
    assert out["risk_tier"].tolist() == ["high"] * 4 + ["rest"] * 6
    with pytest.raises(ValueError, match="'low' is taken"):
        at_risk_list(scores, tiers={"low": 0.3})
    with pytest.raises(ValueError, match=r"tiers\['high'\]=1.5"):
        at_risk_list(scores, tiers={"high": 1.5})


def test_custom_actions_and_extra_columns(scores):
    customers = pd.DataFrame(
        {"customer_id": list("abcdefghij"), "account_manager": ["Ann", "Bo"] * 5}
    )
    out = at_risk_list(
        scores,
        actions={"support": "call within 24h"},
        customers=customers,
        extra_columns=["account_manager", "reason_weight_1"],
    )
    assert list(out.columns) == [*AT_RISK_COLUMNS, "account_manager", "reason_weight_1"]
    assert out.set_index("customer_id").loc[["a", "b", "d"], "account_manager"].tolist() == [
        "Ann",
        "Bo",
        "Bo",
    ]
    assert out["suggested_action"].iloc[0] == "call within 24h"
    assert out["suggested_action"].iloc[1] == DEFAULT_ACTIONS["payments"]
    with pytest.raises(ChurnDataError, match="extra column 'region' is in neither scores or"):
        at_risk_list(scores, customers=customers, extra_columns=["region"])


def test_scores_without_reasons(scores):
    bare = scores[["churn_probability", "mrr"]]
    out = at_risk_list(bare)
    assert list(out.columns) == list(AT_RISK_COLUMNS)
    assert (out["reason_1"] == "").all() and (out["suggested_action"] == "").all()


@pytest.mark.parametrize(
    "drop, message",
    [
        ("churn_probability", r"lacks column\(s\) \['churn_probability'\]"),
        ("mrr", r"lacks column\(s\) \['mrr'\]"),
        ("reason_group_2", "has reason_2 but lacks reason_group_2"),
    ],
)
def test_missing_score_columns(scores, drop, message):
    with pytest.raises(ChurnDataError, match=message):
        at_risk_list(scores.drop(columns=drop))


@pytest.mark.parametrize("value", [1.2, -0.1, np.nan])
def test_bad_probabilities(scores, value):
    bad = scores.assign(
        churn_probability=scores["churn_probability"].where(scores.index != "c", value)
    )
    with pytest.raises(
        ChurnDataError, match=r"outside \[0, 1\] or missing, e.g. customers \['c'\]"
    ):
        at_risk_list(bad)


def test_repeated_customers(scores):
    twice = pd.concat([scores, scores.iloc[[0]]])
    with pytest.raises(ChurnDataError, match=r"repeats 1 customer\(s\), e.g. \['a'\]"):
        at_risk_list(twice)


def test_csv_neutralises_formulas(scores, tmp_path):
    path = write_at_risk(at_risk_list(scores), tmp_path / "at_risk.csv")
    back = pd.read_csv(path, keep_default_na=False)
    row = back.set_index("customer_id").loc["e"]
    assert row["reason_1"] == '\'=HYPERLINK("http://x")'
    assert row["reason_2"] == "'-5 days"
    assert back["churn_probability"].iloc[0] == pytest.approx(0.9)
    assert back["reason_1"].iloc[0] == "3 open tickets"
    # the list and its manifest, no temporary file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["at_risk.csv", "at_risk.manifest.json"]


def test_excel_has_list_and_legend(scores, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    path = write_at_risk(
        at_risk_list(scores, actions={"support": "call within 24h"}),
        tmp_path / "at_risk.xlsx",
        currency="€",
    )
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["at_risk", "legend"]
    assert "€" in book["at_risk"]["F2"].number_format  # revenue_at_risk
    sheet = pd.read_excel(path, sheet_name="at_risk")
    assert list(sheet.columns) == list(AT_RISK_COLUMNS)
    assert sheet.set_index("customer_id").loc["e", "reason_1"] == '\'=HYPERLINK("http://x")'
    legend = pd.read_excel(path, sheet_name="legend").fillna("")
    assert list(legend.columns) == [
        "topic",
        "name",
        "meaning",
        "action_active",
        "action_lapsed",
        "action_new",
    ]
    groups = legend[legend["topic"] == "driver group"].set_index("name")
    assert groups.loc["support", "action_active"] == "call within 24h"  # the list's own
    assert groups.loc["payments", "action_new"] == DEFAULT_ACTIONS["payments"]
    assert groups.loc["engagement", "action_new"] == "onboarding help"
    assert groups.loc["engagement", "action_lapsed"] == "win-back offer"
    tiers = legend[legend["topic"] == "risk tier"].set_index("name")["meaning"]
    assert tiers.index.tolist() == ["high", "medium", "low"]
    assert "base rate" in tiers["high"]
    assert legend.loc[legend["topic"] == "amounts", "meaning"].item() == "in €"
    no_legend = write_at_risk(at_risk_list(scores), tmp_path / "plain.xlsx", legend=False)
    assert openpyxl.load_workbook(no_legend).sheetnames == ["at_risk"]


def test_actions_follow_the_status_and_the_driver(scores):
    """Engagement reads as onboarding for a new customer, a win-back for a lapsed one;
    payments and support keep their actions whatever the status; config overrides work per
    group (every status) and per status."""
    scores["reason_group_1"] = ["engagement"] * 3 + ["payments", "support"] + [""] * 5
    scores["status"] = ["new", "active", "lapsed", "new", "lapsed"] + ["active"] * 5
    out = at_risk_list(scores).set_index("customer_id")["suggested_action"]
    assert out[["a", "b", "c"]].tolist() == [
        "onboarding help",
        "re-engagement campaign / product training",
        "win-back offer",
    ]
    assert out["d"] == DEFAULT_ACTIONS["payments"] and out["e"] == DEFAULT_ACTIONS["support"]
    custom = at_risk_list(
        scores,
        actions={"engagement": "call them", "lapsed": {"engagement": "voucher"}},
    ).set_index("customer_id")["suggested_action"]
    assert custom[["a", "b", "c"]].tolist() == ["call them", "call them", "voucher"]
    purchases = scores.rename(columns={"mrr": "expected_spend"})
    shop = at_risk_list(purchases).set_index("customer_id")["suggested_action"]
    assert shop["a"] == "welcome follow-up / second-order incentive"
    assert shop["c"] == "win-back offer"
    assert "win-back" not in shop["b"]
    with pytest.raises(ValueError, match="statuses"):
        at_risk_list(scores, actions={"lapsed": "voucher"})


def test_parquet_round_trip_keeps_values(scores, tmp_path):
    frame = at_risk_list(scores)
    back = pd.read_parquet(write_at_risk(frame, tmp_path / "at_risk.parquet"))
    assert back["reason_1"].tolist() == frame["reason_1"].tolist()
    np.testing.assert_allclose(back["revenue_at_risk"], frame["revenue_at_risk"])


def test_bad_suffix_and_columns_write_nothing(scores, tmp_path):
    with pytest.raises(ChurnDataError, match=r"unsupported output type '.json'"):
        write_at_risk(at_risk_list(scores), tmp_path / "at_risk.json")
    with pytest.raises(ChurnDataError, match=r"lacks column\(s\) \['rank'"):
        write_at_risk(scores, tmp_path / "at_risk.csv")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_file(scores, tmp_path, monkeypatch):
    """The writer dies half-way: no new file, an existing list stays as it was, no temp file."""
    target = tmp_path / "at_risk.csv"
    target.write_text("yesterday's list\n")

    def half_then_fail(self, path, **kwargs):
        with open(path, "w") as fh:
            fh.write("rank,customer_id\n1,")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write_at_risk(at_risk_list(scores), target)
    with pytest.raises(OSError, match="disk full"):
        write_at_risk(at_risk_list(scores), tmp_path / "new.csv")
    assert target.read_text() == "yesterday's list\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["at_risk.csv"]


# ListOptions: one checked value object for the list options -------------------------------


def test_list_options_are_checked_once_and_frozen():
    import dataclasses

    from churnpredict._export import ListOptionError, ListOptions

    options = ListOptions(top=3, tiers={"high": 0.5}, status="active", extra_columns="plan")
    assert options.tiers == {"high": 0.5, "low": 0.0}
    assert options.status == ("active",) and options.statuses == {"active"}
    assert options.extra_columns == ("plan",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.top = 5
    with pytest.raises(TypeError):
        options.tiers["high"] = 0.1  # read-only mapping
    bad = [
        ({"rank_by": "mrr"}, "rank_by"),
        ({"top": -1}, "top"),
        ({"top": True}, "top"),
        ({"min_probability": 1.5}, "min_probability"),
        ({"tiers": {"a": 2}}, "tiers"),
        ({"tiers": {}}, "tiers"),
        ({"actions": {"support": 3}}, "actions"),
        ({"extra_columns": ["rank"]}, "extra_columns"),
        ({"status": "gone"}, "status"),
        ({"holdout": 1.0}, "holdout"),
        ({"random_state": 3}, "random_state"),
        ({"holdout": 0.2, "random_state": -1}, "random_state"),
        ({"holdout": 0.2, "extra_columns": ["group"]}, "extra_columns"),
    ]
    for kwargs, option in bad:
        with pytest.raises(ListOptionError) as err:
            ListOptions(**kwargs)
        assert err.value.option == option, kwargs
        assert option in str(err.value) or "group" in str(err.value), kwargs
    assert options.replace(top=1).top == 1 and options.top == 3
    with pytest.raises(ListOptionError):
        options.replace(top=-2)


def test_list_options_single_bad_values_keep_their_messages():
    from churnpredict._export import ListOptionError, ListOptions

    said = {
        "rank_by": ({"rank_by": "mrr"}, "rank_by='mrr'; expected 'probability' or 'revenue'"),
        "top": ({"top": 2.0}, "top=2.0; expected a non-negative integer or None"),
        "min_probability": (
            {"min_probability": float("nan")},
            "min_probability=nan; expected a probability between 0 and 1, or None",
        ),
        "extra_columns": ({"extra_columns": [1]}, "extra_columns=[1]; expected column names"),
        "status": (
            {"status": []},
            "status=[]; expected 'all', one of ['active', 'lapsed', 'new'] or a list of them",
        ),
        "holdout": (
            {"holdout": "0.2"},
            "holdout='0.2'; expected the control share, strictly between 0 and 1 (e.g. 0.2)",
        ),
        "random_state": (
            {"holdout": 0.5, "random_state": True},
            "random_state=True; expected a non-negative integer seed",
        ),
    }
    for option, (kwargs, message) in said.items():
        with pytest.raises(ListOptionError) as err:
            ListOptions(**kwargs)
        assert (err.value.option, str(err.value)) == (option, message)
    stored = ListOptions(top=np.int64(4), min_probability=1, holdout=0.5, random_state=np.int32(2))
    assert [type(v) for v in (stored.top, stored.min_probability, stored.random_state)] == [
        int,
        float,
        int,
    ]
    assert ListOptions(status=None).status == "all"


def test_list_options_from_config_reads_what_the_command_line_reads():
    from churnpredict._export import ListOptionError, ListOptions
    from churnpredict.cli.settings import list_options

    config = {
        "horizon": "28D",  # not a list option: left alone
        "score": {
            "top": 50,
            "min_probability": 0.1,
            "rank_by": "revenue",
            "extra_columns": ["plan"],
            "status": "active",
        },
        "tiers": {"high": 0.5, "medium": 0.2},
        "actions": {"payments": "Call about the card", "lapsed": {"engagement": "Voucher"}},
    }
    options = ListOptions.from_config(config)
    assert options == list_options(config)
    assert (options.top, options.rank_by, options.extra_columns, options.status) == (
        50,
        "revenue",
        ("plan",),
        ("active",),
    )
    assert dict(options.tiers) == {"high": 0.5, "medium": 0.2, "low": 0.0}
    assert options.actions["lapsed"]["engagement"] == "Voucher"
    # flags over the config; None is "not given"
    flags = {"top": 5, "rank_by": None, "status": "new", "holdout": 0.25, "random_state": 3}
    over = ListOptions.from_config(config, **flags)
    assert over == list_options(config, top=5, status="new", holdout=0.25, seed=3)
    assert (over.top, over.rank_by, over.status, over.holdout) == (5, "revenue", ("new",), 0.25)
    # an empty config is every default
    assert ListOptions.from_config({}) == ListOptions() == list_options({})
    with pytest.raises(ListOptionError, match=r"unknown key\(s\) \['min_prob'\] in \[score\]"):
        ListOptions.from_config({"score": {"min_prob": 0.2}})
    with pytest.raises(ListOptionError, match=r"\[score\] = 3; expected a table"):
        ListOptions.from_config({"score": 3})
    with pytest.raises(ListOptionError) as err:
        ListOptions.from_config({"score": {"top": -1}})
    assert err.value.option == "top"
    with pytest.raises(ListOptionError) as err:
        ListOptions.from_config({"tiers": {"high": 2}})
    assert err.value.option == "tiers"
    with pytest.raises(TypeError):
        ListOptions.from_config({}, colour="red")


def test_at_risk_list_takes_list_options_or_keywords_not_both():
    from churnpredict._export import ListOptions

    scores = pd.DataFrame(
        {"churn_probability": [0.2, 0.7, 0.05, 0.4, 0.9], "mrr": [50.0, 100.0, 80.0, 10.0, 5.0]},
        index=pd.Index(list("abcde"), name="customer_id"),
    )
    options = ListOptions(
        rank_by="revenue", top=3, tiers={"high": 0.5}, holdout=0.4, random_state=7
    )
    by_object = at_risk_list(scores, options=options)
    by_keywords = at_risk_list(scores, **options.as_dict())
    pd.testing.assert_frame_equal(by_object, by_keywords)
    assert by_object["customer_id"].tolist() == ["b", "a", "e"]  # revenue at risk 70, 10, 4.5
    assert by_object.attrs["holdout_seed"] == 7
    with pytest.raises(ValueError, match="not both"):
        at_risk_list(scores, options=options, top=2)


def test_list_options_pickle_copy_and_hash_like_values():
    import copy
    import pickle

    from churnpredict._export import ListOptions

    options = ListOptions(
        tiers={"high": 0.5},
        actions={"engagement": "call"},
        top=3,
        status=["active"],
        holdout=0.2,
        random_state=4,
    )
    assert pickle.loads(pickle.dumps(options)) == options
    assert copy.deepcopy(options) == options
    same = ListOptions(
        tiers={"high": 0.5},
        actions={"engagement": "call"},
        top=3,
        status="active",
        holdout=0.2,
        random_state=4,
    )
    assert hash(same) == hash(options) and len({options, same}) == 1
    assert options.replace(top=4) != options


def test_revenue_at_risk_keeps_the_lists_arithmetic_order():
    """(probability x MRR) x months, so a list file is byte-identical for the same scores."""
    rng = np.random.default_rng(0)
    prob, mrr = rng.random(500), rng.random(500) * 1000
    scores = pd.DataFrame(
        {"churn_probability": prob, "mrr": mrr}, index=pd.Index(np.arange(500), name="customer_id")
    )
    months = 28 / (365.25 / 12)
    listed = at_risk_list(scores, horizon="28D").set_index("customer_id").loc[scores.index]
    assert (listed["revenue_at_risk"].to_numpy() == prob * mrr * months).all()
