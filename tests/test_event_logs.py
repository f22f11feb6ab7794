"""Event logs of apps and services: what activity.value is declared to hold, and logs that start
after their customers signed up (exports of recent events)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from churnpredict import ChurnDataError, DataQualityWarning, EventData
from churnpredict._labels import training_cutoffs
from churnpredict.features import EngagementFeatures

START = pd.Timestamp("2024-03-01 08:00")


def customers(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": list(range(1, n + 1)), "signup_at": "2024-01-01"})


def activity(values) -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": [1, 2, 3][: len(values)], "timestamp": "2024-02-01", "value": values}
    )


# ---------------------------------------------------------------------------- value_kind
@pytest.mark.parametrize(
    ("kind", "values", "match"),
    [
        (
            "duration",
            ["245.3", "3:20"],
            r"activity.value has 1 non-numeric values \{'3:20'\} "
            r"\(value_kind='duration'\); give seconds as numbers",
        ),
        (
            "duration",
            [12.0, -3.0],
            r"activity.value has 1 negative values \{-3.0\}, but a "
            r"duration is never negative \(value_kind='duration'\); fix those rows",
        ),
        ("count", [2, -1], r"negative values \{-1\}, but a count is never negative"),
        ("count", [2, 1.5], r"fractional values \{1.5\}, but a count is a whole number"),
        ("count", ["two", 1], r"non-numeric values \{'two'\} \(value_kind='count'\); give whole"),
    ],
)
def test_a_declared_value_kind_that_the_data_contradicts_is_refused(kind, values, match):
    with pytest.raises(ChurnDataError, match=match):
        EventData(customers(), activity=activity(values), value_kind=kind)


@pytest.mark.parametrize("kind", ["seconds", "money", 3, ""])
def test_an_unknown_value_kind_is_refused(kind):
    with pytest.raises(
        ChurnDataError,
        match=r"value_kind=.*; declare what activity.value holds: "
        r"'amount' \(money\), 'duration' \(seconds\) or 'count'",
    ):
        EventData(customers(), activity=activity([1.0]), value_kind=kind)


def test_a_value_kind_needs_the_value_column():
    with pytest.raises(
        ChurnDataError,
        match=r"activity has no value column, but "
        r"value_kind='duration'.*map your column to value",
    ):
        EventData(
            customers(), activity=activity([1.0]).drop(columns="value"), value_kind="duration"
        )
    with pytest.raises(ChurnDataError, match="there is no activity table"):
        EventData(customers(), value_kind="count")


def test_declared_values_are_kept_and_durations_read_as_seconds():
    data = EventData(
        customers(), activity=activity(pd.to_timedelta(["4min", "5s", None])), value_kind="duration"
    )
    assert data.value_kind == "duration"
    np.testing.assert_array_equal(data.activity["value"], [240.0, 5.0, np.nan])
    assert data.cut("2024-03-01").value_kind == "duration"
    # amounts may be negative (returns); undeclared values are kept as they are
    assert EventData(customers(), activity=activity([-5.0, 2.0]), value_kind="amount").value_kind
    assert EventData(customers(), activity=activity([-5.0, 2.0])).value_kind is None


def test_value_sums_read_by_their_declared_kind():
    wording = {}
    for kind in (None, "duration", "amount", "count"):
        data = EventData(customers(), activity=activity([3600.0, 7200.0, 60.0]), value_kind=kind)
        builder = EngagementFeatures(windows=(30,)).fit(data, ["2024-02-10"])
        info = {i.name: i for i in builder.feature_info()}["value_sum_30d"]
        wording[kind] = info.describe(11520.0, currency="€")
    assert wording == {
        None: "total activity value 11,520 in the last 30 days",
        "duration": "3.2 hours of use in the last 30 days",
        "amount": "€11,520 spent in the last 30 days",
        "count": "11,520 counted items in the last 30 days",
    }


# ---------------------------------------------------------------------------- log starts
def export(n_old: int, n_new: int = 0) -> EventData:
    """``n_old`` customers signed up in January, ``n_new`` in March; the log starts 1 March.

    Every customer is active on 1 March 08:00 + i hours (in the log's first week) and on
    1 April.
    """
    ids = list(range(n_old + n_new))
    signup = ["2024-01-10"] * n_old + ["2024-03-01 09:00"] * n_new
    first = [START + pd.Timedelta(hours=i) for i in ids]
    act = pd.DataFrame(
        {
            "customer_id": ids * 2,
            "timestamp": first + [pd.Timestamp("2024-04-01")] * len(ids),
        }
    )
    return EventData(pd.DataFrame({"customer_id": ids, "signup_at": signup}), activity=act)


def test_an_export_of_recent_events_starts_at_its_first_event():
    data = export(25, 5)
    assert data.observed_start == {"activity": START}
    assert data.record_start("activity") == START


@pytest.mark.parametrize(
    ("n_old", "n_new", "why"),
    [
        (19, 0, "fewer than 20 customers signed up before the first event"),
        (20, 81, "fewer than a fifth of the first week's customers signed up before it"),
    ],
)
def test_a_complete_history_has_no_record_start(n_old, n_new, why):
    assert export(n_old, n_new).record_start("activity") is None, why


def test_tickets_from_the_same_log_start_with_it():
    data = export(25)
    tickets = pd.DataFrame({"customer_id": [3], "created_at": ["2024-03-20"]})
    with_tickets = EventData(data.customers, activity=data.activity, tickets=tickets)
    assert with_tickets.record_start("tickets") == START
    earlier = pd.DataFrame({"customer_id": [3], "created_at": ["2024-02-01"]})
    older_helpdesk = EventData(data.customers, activity=data.activity, tickets=earlier)
    assert older_helpdesk.record_start("tickets") is None


def test_cutoffs_before_one_horizon_of_the_log_are_dropped_with_a_note():
    data = export(25)
    with pytest.warns(
        DataQualityWarning,
        match=r"4 of 6 training cutoffs dropped \(2024-03-05 "
        r"\.\. 2024-03-08\): the activity log starts 2024-03-01 08:00, after 25 "
        r"customers signed up, so a cutoff needs its horizon \(7 days\) and as "
        r"much history before it inside the log",
    ):
        cuts = training_cutoffs(data, "2024-03-17", "7D", periods=6, freq="1D")
    assert list(cuts.strftime("%m-%d")) == ["03-09", "03-10"]  # 03-08 00:00 is 16 h short


def test_no_cutoff_left_names_the_horizon_the_log_fits():
    data = export(25)
    with pytest.raises(
        ChurnDataError,
        match=r"no training cutoff is left: the activity log "
        r"starts .*; the activity log spans 61 days: use a horizon of at most "
        r"14 days",
    ):
        training_cutoffs(data, START + pd.Timedelta(days=61), "35D", periods=12, freq="14D")


def test_a_complete_history_keeps_its_cutoffs():
    data = export(19)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        cuts = training_cutoffs(data, "2024-03-17", "7D", periods=6, freq="1D")
    assert len(cuts) == 6


# ---------------------------------------------------------------------------- business kind
import re  # noqa: E402
import shlex  # noqa: E402
from pathlib import Path  # noqa: E402

from typer.testing import CliRunner  # noqa: E402

import churnpredict as cp  # noqa: E402
from churnpredict import (  # noqa: E402
    ChurnModelError,
    ModelQualityWarning,
    cli,  # noqa: E402
)
from churnpredict._training import (  # noqa: E402
    business_kind,
    check_labels,
    learned_nothing,
    training_schedule,
)

#: Words of shops and money that a list, report or command output of a log of use never holds.
MONEY_WORDS = re.compile(
    r"\b(orders?|ordered|spend|spent|spending|purchases?|purchased|buy|buys|bought|buyers?|"
    r"shop|shops|shopper|basket|invoices?|revenue|money|monetary|prices?|mrr|currency|"
    r"payments?|pay|billing|dunning|voucher|loyalty|profit)\b",
    re.IGNORECASE,
)


def money_words(text: str) -> list[str]:
    return sorted({m.group(0).lower() for m in MONEY_WORDS.finditer(text)})


@pytest.fixture(scope="module")
def app_log() -> EventData:
    """A product's event log: the simulator without payments, cancellations or MRR."""
    return cp.make_usage_data(n_customers=600, start="2024-01-01", end="2024-12-31", random_state=3)


def test_an_apps_event_log_is_usage_and_a_shops_orders_are_purchases(app_log):
    kind, why = business_kind(app_log)
    assert kind == "usage"
    assert re.fullmatch(
        r"an event log of use: 5 event types, customers active on a median "
        r"\d+% of their days",
        why,
    ), why
    from test_business import make_shop

    shop = make_shop(n_customers=300)
    orders = EventData(shop["customers"], activity=shop["activity"])
    kind, why = business_kind(orders)
    assert kind == "purchases" and "1 event type" in why and "whole cents" in why


def test_a_declared_value_decides(app_log):
    activity = app_log.activity.assign(value=app_log.activity["value"] * 60)
    as_time = EventData(app_log.customers, activity=activity, value_kind="duration")
    assert business_kind(as_time) == (
        "usage",
        "an event log of use: activity.value is declared a duration of use",
    )
    as_money = EventData(app_log.customers, activity=activity, value_kind="amount")
    assert business_kind(as_money)[0] == "purchases"
    assert business_kind(app_log, "purchases") == ("purchases", "set: business='purchases'")
    with pytest.raises(
        ChurnModelError,
        match=r"business='purchases' reads activity.value as "
        r"the money of orders, but it is declared a duration",
    ):
        business_kind(as_time, "purchases")


def test_when_it_cannot_tell_it_asks_for_business():
    """Daily check-ins without types or values: regular like an app, one type like a shop."""
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    ids = np.repeat(np.arange(30), len(days))
    activity = pd.DataFrame({"customer_id": ids, "timestamp": np.tile(days, 30)})
    data = EventData(
        pd.DataFrame({"customer_id": range(30), "signup_at": "2023-12-01"}), activity=activity
    )
    with pytest.raises(
        ChurnModelError,
        match=r"cannot tell whether the activity log is a "
        r"shop's orders or an app's use \(0 event types, customers active on a "
        r"median 100% of their days\); set business='purchases' .* or "
        r"business='usage'",
    ):
        business_kind(data)
    assert cp.ChurnPipeline(business="usage").training_plan(data).business == "usage"


# ---------------------------------------------------------------------------- short logs
@pytest.mark.parametrize(
    ("days", "horizon", "freq"),
    [(61, 14, 3), (29, 7, 1), (22, 5, 1), (200, 28, 14), (100, 21, 5), (730, 28, 14)],
)
def test_a_short_log_gets_the_horizon_and_spacing_it_fits(days, horizon, freq):
    data = export(25)
    schedule = training_schedule(data, START + pd.Timedelta(days=days))
    assert (schedule.horizon.days, schedule.cutoff_freq.days) == (horizon, freq)
    assert schedule.short_log == (days < 112)
    if (horizon, freq) != (28, 14):
        assert schedule.note.startswith(
            f"the activity log spans {days} days: horizon {horizon} days and cutoffs {freq} day"
        )
    # a horizon the user gives is kept
    given = training_schedule(data, START + pd.Timedelta(days=days), "9D", "2D")
    assert (given.horizon.days, given.cutoff_freq.days, given.note) == (9, 2, "")


def test_a_log_too_short_for_any_horizon_is_refused_with_advice():
    with pytest.raises(
        ChurnDataError,
        match=r"cannot choose a horizon; the activity log spans "
        r"3 days, too short to learn churn from: collect a few weeks of events",
    ):
        training_schedule(export(25), START + pd.Timedelta(days=3))


def test_labels_of_one_class_get_advice_for_the_data():
    data = export(25)
    index = pd.MultiIndex.from_product(
        [[1, 2], [START + pd.Timedelta(days=20)]], names=["customer_id", "cutoff"]
    )
    as_of = START + pd.Timedelta(days=61)
    with pytest.raises(
        ChurnDataError,
        match=r"no customer churned in 2 rows at 1 training "
        r"cutoffs .* within 7 days: nothing to learn from; use a longer horizon "
        r"or more cutoffs.*; the activity log spans 61 days: use a horizon of at "
        r"most 14 days",
    ):
        check_labels(pd.DataFrame({"churned": [0, 0]}, index=index), data, as_of, "7D")
    with pytest.raises(ChurnDataError, match=r"every customer churned .* use a shorter horizon"):
        check_labels(pd.DataFrame({"churned": [1, 1]}, index=index), data, as_of, "7D")


def test_the_pipeline_fits_a_short_log_with_its_defaults(app_log):
    log = app_log.cut("2024-12-31")
    short = EventData(
        log.customers, activity=log.activity[log.activity["timestamp"] >= "2024-11-01"]
    )
    pipe = cp.ChurnPipeline(model=cp.ChurnModel(n_estimators=30, n_jobs=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pipe.fit(short)
    assert pipe.business_ == "usage" and pipe.label_kind_ == "inactivity"
    assert pipe.horizon_ == pd.Timedelta(days=14)  # 60 days of log: a quarter, in weeks
    assert pipe.schedule_["cutoff_freq"] == "2D"
    assert "feature windows of 14 days and 28 days" in pipe.schedule_["note"]
    assert not [c for c in pipe.feature_names_ if c.endswith("_90d")]
    # every training cutoff has its horizon and one horizon of history inside the log
    start = short.activity["timestamp"].min()
    assert (pipe.cutoffs_ - pipe.horizon_ >= start).all()


# ---------------------------------------------------------------------------- learned nothing
def test_the_learned_nothing_guard_fires_on_a_label_free_case():
    """Customers who all behave the same, half of them cancelling at random: no feature
    can tell who leaves, so the model must say it learned nothing, at training and when
    its list is made."""
    rng = np.random.default_rng(0)
    n = 400
    signup = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 30, n), unit="D")
    churned = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    leave = rng.random(n) < 0.5
    churned[leave] = pd.Timestamp("2024-04-01") + pd.to_timedelta(
        rng.integers(0, 150, leave.sum()), unit="D"
    )
    customers = pd.DataFrame({"customer_id": range(n), "signup_at": signup, "churned_at": churned})
    days = pd.date_range("2024-02-01", "2024-09-30", freq="D")
    activity = pd.DataFrame(
        {
            "customer_id": np.repeat(np.arange(n), len(days)),
            "timestamp": np.tile(days, n) + pd.Timedelta(hours=9),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        data = EventData(customers, activity=activity)
    pipe = cp.ChurnPipeline(model=cp.ChurnModel(n_estimators=60, n_jobs=1), n_cutoffs=8)
    with pytest.warns(
        ModelQualityWarning,
        match=r"the model learned nothing: .*do not act on "
        r"its ranking. Likely cause: ",
    ):
        pipe.fit(data, as_of="2024-09-30")
    assert "learned nothing" in pipe.training_summary_["learned_nothing"]
    with pytest.warns(ModelQualityWarning, match="the model learned nothing"):
        pipe.score(data, "2024-09-30", explain=False)


def test_a_model_that_learned_is_not_flagged():
    model = cp.ChurnModel()
    model.best_iteration_, model.validation_scores_ = (
        40,
        {"auc": 0.8, "n_rows": 100, "n_churned": 30},
    )
    assert learned_nothing(model) is None
    model.best_iteration_ = 0
    assert "early stopping kept only its first round" in learned_nothing(model)
    model.best_iteration_, model.validation_scores_["auc"] = 12, 0.52
    assert "its validation AUC is 0.52, as good as a coin" in learned_nothing(model)
    model.validation_scores_["n_churned"] = 8
    assert "only 8 churners (and 92 stayers)" in learned_nothing(model)


# ---------------------------------------------------------------------------- lists of use
def _use_everything(
    data: EventData,
    folder: Path,
    model_args: str,
    as_of: str,
    evaluate_at: str,
    extra: tuple[str, ...] = (),
) -> dict[str, str]:
    """Train, score and evaluate (with the report) on the command line; every text out."""
    folder.mkdir(exist_ok=True)
    for name, frame in data.tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    (folder.parent / "small.toml").write_text(model_args)
    runner = CliRunner()
    said = []
    for command in (
        f"train {folder} --model {folder.parent / 'model'}",
        f"score {folder} --model {folder.parent / 'model'} --as-of {as_of} "
        f"--out {folder.parent / 'list.csv'}",
        f"evaluate {folder} --model {folder.parent / 'model'} --as-of {evaluate_at} "
        f"--report {folder.parent / 'report'}",
    ):
        args = [*shlex.split(command), "--config", str(folder.parent / "small.toml"), *extra]
        result = runner.invoke(cli.app, args)
        assert result.exit_code == 0, (command, result.output, result.stderr)
        said.append(result.stdout + result.stderr)
    return {
        "cli": "\n".join(said),
        "list": (folder.parent / "list.csv").read_text(encoding="utf-8"),
        # what a reader sees of the page: its text, not its markup
        "report": re.sub(
            r"<[^>]+>", " ", (folder.parent / "report" / "report.html").read_text(encoding="utf-8")
        ),
    }


def test_a_generated_event_log_lists_no_money(app_log, tmp_path):
    pipe = cp.ChurnPipeline(model=cp.ChurnModel(n_estimators=60, n_jobs=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pipe.fit(app_log, as_of="2024-12-01")
        scores = pipe.score(app_log, "2024-12-31")
    assert pipe.business_ == "usage"
    assert not {"mrr", "expected_spend"} & set(scores.columns)
    assert {type(b).__name__ for b in pipe.builders_} >= {"UsageFeatures", "EngagementFeatures"}
    assert not {"PaymentFeatures", "MonetaryFeatures", "SpendFeatures"} & {
        type(b).__name__ for b in pipe.builders_
    }
    frame = cp.at_risk_list(scores)
    assert tuple(frame.columns) == cp._export.USAGE_AT_RISK_COLUMNS
    assert frame.attrs["note"] == cp._export.NO_VALUE_NOTE
    assert len(frame) == len(scores)  # every customer scored is listed
    # the actions of a log of use, by status: no offer, voucher or billing help
    table = cp._actions.action_table("usage")
    engaged = frame[frame["reason_group_1"] == "engagement"]
    assert len(engaged)
    for status, action in zip(engaged["status"], engaged["suggested_action"], strict=True):
        assert action == table.loc["engagement", status]
    assert set(table.index) == {"engagement", "support", "tenure", "profile"}
    assert table.loc["engagement", "active"] == cp._export.USAGE_ACTIONS["engagement"]
    with pytest.raises(cp._export.ListOptionError, match="needs a value per customer"):
        cp.at_risk_list(scores, rank_by="revenue")
    texts = _use_everything(
        app_log,
        tmp_path / "data",
        "[model]\nn_estimators = 60\nn_jobs = 1\n",
        "2024-12-31",
        "2024-12-01",
    )
    for where, text in texts.items():
        assert money_words(text) == [], (where, money_words(text))
    assert "business: usage (an event log of use" in texts["cli"]
    assert cp._export.NO_VALUE_NOTE in texts["cli"]


SPARKIFY = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "sparkify-eventsim-log-sample"
    / "sparkify_log_data_2018-11.jsonl.gz"
)


@pytest.mark.slow
@pytest.mark.skipif(not SPARKIFY.is_file(), reason="the Sparkify sample is not beside the project")
def test_sparkify_with_the_recipe_and_defaults_lists_every_user_in_words_of_use(tmp_path):
    from churnpredict.datasets import load_sparkify

    data = load_sparkify(SPARKIFY)
    pipe = cp.ChurnPipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pipe.fit(data)
        scores = pipe.score(data)
    assert pipe.business_ == "usage" and pipe.horizon_ == pd.Timedelta(days=7)
    assert "learned_nothing" not in pipe.training_summary_
    frame = cp.at_risk_list(scores)
    assert set(frame["customer_id"]) == set(data.customers["customer_id"])  # every user
    assert (frame["reason_1"] != "").mean() > 0.8
    texts = _use_everything(
        data, tmp_path / "sparkify", 'value_kind = "duration"\n', "2018-11-30", "2018-11-23"
    )
    texts["list"] += frame.to_csv()
    for where, text in texts.items():
        assert money_words(text) == [], (where, money_words(text))
    assert "the activity log spans 29 days: horizon 7 days" in texts["cli"]


@pytest.mark.parametrize(
    ("flag", "config", "fragment"),
    [
        (
            "count",
            "",
            "activity.value has 3 fractional values {0.5, 1.5, 2.5}, but a count is a "
            "whole number (value_kind='count'); give whole numbers of things",
        ),
        ("seconds", "", "--value-kind 'seconds'; use amount, duration or count"),
        (
            None,
            'value_kind = "minutes"\n',
            "value_kind = 'minutes'; use amount (money), duration (seconds) or count",
        ),
    ],
)
def test_a_value_kind_the_data_contradicts_is_exit_2_on_one_line(tmp_path, flag, config, fragment):
    folder = tmp_path / "data"
    folder.mkdir()
    customers().to_csv(folder / "customers.csv", index=False)
    activity([0.5, 1.5, 2.5]).to_csv(folder / "activity.csv", index=False)
    (tmp_path / "c.toml").write_text(config)
    args = [
        "train",
        str(folder),
        "--model",
        str(tmp_path / "m"),
        "--config",
        str(tmp_path / "c.toml"),
    ]
    result = CliRunner().invoke(cli.app, args + (["--value-kind", flag] if flag else []))
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("churnpredict: error: ") and fragment in line, line
