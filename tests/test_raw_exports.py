"""Raw exports load without a preparation script: derived customers, named files, epoch times,
payments without a status, events without a customer, outcome columns; advice in the user's
terms (Python arguments in Python, config lines on the command line)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import churnpredict as cp
from churnpredict import ChurnDataError, DataQualityWarning, EventData, cli
from churnpredict._training import check_outcome_columns


def app_log():
    """An app's event log: a logs in twice and cancels, b signs up later, one anonymous view."""
    return pd.DataFrame(
        {
            "user": ["a", "a", "b", None, "a"],
            "at": ["2024-01-03", "2024-01-01 10:00", "2024-01-05", "2024-01-02", "2024-01-09"],
            "what": ["login", "login", "login", "view", "cancel"],
        }
    )


LOG_COLUMNS = {"activity": {"user": "customer_id", "at": "timestamp", "what": "event"}}


def test_customers_derived_from_the_events_with_a_note():
    with pytest.warns(DataQualityWarning, match=r"1 of 5 events have no customer id"):
        data = EventData(None, activity=app_log(), columns=LOG_COLUMNS)
    assert data.customers["customer_id"].tolist() == ["a", "b"]
    assert data.customers["signup_at"].tolist() == [
        pd.Timestamp("2024-01-01 10:00"),
        pd.Timestamp("2024-01-05"),
    ]
    assert "churned_at" not in data.customers  # no cancellation recorded: churn is inactivity
    assert any("customers derived from the events" in note for note in data.notes)
    assert len(data.activity) == 4


def test_derived_signup_is_the_first_event_of_any_table():
    payments = pd.DataFrame(
        {"customer_id": ["b"], "timestamp": ["2024-01-02"], "amount": [5.0], "status": "ok"}
    )
    data = EventData(
        None,
        activity=app_log().dropna(),
        payments=payments,
        columns=LOG_COLUMNS,
        status_map={"ok": "succeeded"},
    )
    assert data.customers.set_index("customer_id")["signup_at"]["b"] == pd.Timestamp("2024-01-02")


def test_cancellations_only_from_a_declared_cancel_event():
    data = EventData(None, activity=app_log().dropna(), columns=LOG_COLUMNS, cancel_event="cancel")
    churned = data.customers.set_index("customer_id")["churned_at"]
    assert churned["a"] == pd.Timestamp("2024-01-09") and pd.isna(churned["b"])
    assert "1 cancelled (first 'cancel' event)" in data.notes[0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cancel_event": "closed"}, r"activity\.event has no 'closed' event .*'login'"),
        (
            {
                "cancel_event": "cancel",
                "columns": {"activity": {"user": "customer_id", "at": "timestamp"}},
            },
            r"no activity\.event column",
        ),
    ],
)
def test_cancel_event_errors(kwargs, match):
    kwargs = {"columns": LOG_COLUMNS, **kwargs}
    with pytest.raises(ChurnDataError, match=match):
        EventData(None, activity=app_log().dropna(), **kwargs)


def test_cancel_event_needs_derived_customers():
    customers = pd.DataFrame({"customer_id": ["a"], "signup_at": ["2024-01-01"]})
    with pytest.raises(ChurnDataError, match="cancel_event= derives churned_at"):
        EventData(customers, cancel_event="cancel")


def test_events_without_a_customer_follow_the_unknown_customers_policy():
    with pytest.raises(ChurnDataError, match=r"have no customer id .*cannot be used") as info:
        EventData(None, activity=app_log(), columns=LOG_COLUMNS, unknown_customers="error")
    assert 'unknown_customers = "drop"' in info.value.config_message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EventData(None, activity=app_log(), columns=LOG_COLUMNS, unknown_customers="drop")


@pytest.mark.parametrize(
    ("unit", "values"),
    [("ms", [1704067200000, 1704153600000]), ("s", [1704067200.0, 1704153600.5])],
)
def test_epoch_times_with_a_declared_unit(unit, values):
    log = pd.DataFrame({"customer_id": ["a", "a"], "timestamp": values})
    data = EventData(None, activity=log, time_unit=unit)
    assert data.activity["timestamp"].iloc[0] == pd.Timestamp("2024-01-01")


def test_epoch_numbers_without_a_unit_name_the_key():
    log = pd.DataFrame({"customer_id": ["a"], "timestamp": [1704067200000]})
    with pytest.raises(ChurnDataError, match=r"holds numbers .*time_unit='ms'") as info:
        EventData(None, activity=log)
    assert 'time_unit = "ms"' in info.value.config_message
    with pytest.raises(ChurnDataError, match=r"not epoch times in 's'"):
        EventData(None, activity=log, time_unit="s")  # year 55,000


def orders_without_status():
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "timestamp": ["2024-01-01", "2024-02-01", "2024-01-05"],
            "amount": [10.0, 10.0, 25.0],
        }
    )


def test_payments_without_status_need_a_declared_default():
    customers = pd.DataFrame({"customer_id": ["a", "b"], "signup_at": ["2024-01-01"] * 2})
    with pytest.raises(
        ChurnDataError, match=r"payments has no status column.*default_status="
    ) as info:
        EventData(customers, payments=orders_without_status())
    assert '[payments] default_status = "succeeded"' in info.value.config_message
    data = EventData(customers, payments=orders_without_status(), default_status="succeeded")
    assert (data.payments["status"] == "succeeded").all()
    assert any("every payment is 'succeeded'" in note for note in data.notes)


def test_default_status_fills_only_empty_statuses():
    customers = pd.DataFrame({"customer_id": ["a", "b"], "signup_at": ["2024-01-01"] * 2})
    payments = orders_without_status().assign(status=["failed", "", None])
    data = EventData(customers, payments=payments, default_status="succeeded")
    assert data.payments["status"].tolist() == ["failed", "succeeded", "succeeded"]


def test_outcome_columns_are_dropped_with_a_note():
    customers = pd.DataFrame(
        {"customer_id": ["a", "b"], "signup_at": ["2024-01-01"] * 2, "why": ["price", None]}
    )
    data = EventData(customers, outcome_columns=["why"])
    assert "why" not in data.customers and "describe the outcome" in data.notes[0]
    with pytest.raises(ChurnDataError, match=r"outcome_columns names \['reason'\]"):
        EventData(customers, outcome_columns=["reason"])


# ------------------------------------------------------------------ folders of raw files
def test_tables_name_the_files_and_only_they_are_read(tmp_path):
    app_log().to_csv(tmp_path / "listening_log.csv", index=False)
    pd.DataFrame({"customer_id": ["zzz"], "timestamp": ["2024-01-01"]}).to_csv(
        tmp_path / "activity.csv", index=False
    )
    config = {
        "tables": {"activity": "listening_log.csv"},
        "derive_customers": True,
        "columns": LOG_COLUMNS,
        "unknown_customers": "drop",
    }
    data = EventData.from_directory(tmp_path, config=config)
    assert sorted(data.customers["customer_id"]) == ["a", "b"]


@pytest.mark.parametrize(
    ("config", "python", "toml"),
    [
        ({}, "derive_customers=True", "derive_customers = true"),
        ({"tables": {"activity": "log.csv"}}, "derive_customers=True", "[tables] customers ="),
        (
            {"tables": {"activity": "nope.csv"}, "derive_customers": True},
            "(tables=) not found",
            "([tables] activity in the config) not found",
        ),
        (
            {"tables": {"events": "log.csv"}},
            "tables= names unknown tables ['events']",
            "[tables] in the config names unknown tables ['events']",
        ),
    ],
)
def test_folder_errors_give_python_and_config_fixes(tmp_path, config, python, toml):
    app_log().to_csv(tmp_path / "log.csv", index=False)
    with pytest.raises(ChurnDataError) as info:
        EventData.from_directory(tmp_path, config=config)
    assert python in str(info.value) and toml in info.value.config_message


def test_derive_and_a_customers_file_conflict(tmp_path):
    pd.DataFrame({"customer_id": ["a"], "signup_at": ["2024-01-01"]}).to_csv(
        tmp_path / "customers.csv", index=False
    )
    with pytest.raises(ChurnDataError, match="use the file or derive it, not both"):
        EventData.from_directory(tmp_path, derive_customers=True)


@pytest.mark.parametrize("name", ["log.tsv.gz", "log.json", "log.json.gz"])
def test_more_suffixes_are_read(tmp_path, name):
    log = app_log().dropna()
    path = tmp_path / name
    if ".tsv" in name:
        log.to_csv(path, sep="\t", index=False)
    else:
        log.to_json(path, orient="records", lines=True)
    data = EventData.from_directory(
        tmp_path, tables={"activity": name}, derive_customers=True, columns=LOG_COLUMNS
    )
    assert len(data.activity) == 4


# ------------------------------------------------------------------ outcome columns in training
def subscription_with(column: str, seed: int = 3):
    """The simulated subscription sample, plus one customers column built from its outcome."""
    data = cp.make_subscription_data(n_customers=300, events_per_day=0.2, random_state=seed)
    tables = {k: v.copy() for k, v in data.tables.items()}
    customers = tables["customers"]
    left = customers["churned_at"].notna()
    if column == "cancel_reason":  # written when a customer leaves
        customers[column] = np.where(left, "too expensive", None)
    elif column == "renewal_note":  # written only for those who stay
        customers[column] = np.where(left, None, "renews")
    elif column == "referral_code":  # sparse and unrelated to leaving
        customers[column] = np.where(np.arange(len(customers)) % 7 == 0, "friend", None)
    return EventData(customers, **{k: v for k, v in tables.items() if k != "customers"})


@pytest.mark.parametrize(
    ("column", "side"), [("cancel_reason", "filled"), ("renewal_note", "empty")]
)
def test_training_refuses_a_column_whose_presence_is_the_outcome(column, side):
    data = subscription_with(column)
    pipe = cp.ChurnPipeline(n_cutoffs=4, model=cp.ChurnModel(n_estimators=20, n_jobs=1))
    with pytest.raises(
        ChurnDataError, match=rf"customers\.{column} is {side} for \d+ of the"
    ) as info:
        pipe.fit(data, progress=False)
    assert f"outcome_columns=['{column}']" in str(info.value)
    assert f'outcome_columns = ["{column}"] in the config' in info.value.config_message


def test_a_sparse_attribute_unrelated_to_leaving_is_kept():
    data = subscription_with("referral_code")
    pipe = cp.ChurnPipeline(n_cutoffs=4, model=cp.ChurnModel(n_estimators=20, n_jobs=1))
    pipe.fit(data, progress=False)
    assert "referral_code" in pipe.feature_names_


def test_the_outcome_column_left_out_trains():
    data = subscription_with("cancel_reason")
    tables = {k: v for k, v in data.tables.items()}
    customers = tables.pop("customers")
    clean = EventData(customers, **tables, outcome_columns=["cancel_reason"])
    pipe = cp.ChurnPipeline(n_cutoffs=4, model=cp.ChurnModel(n_estimators=20, n_jobs=1))
    pipe.fit(clean, progress=False)
    assert "cancel_reason" not in pipe.feature_names_


def test_a_snapshot_refuses_a_column_filled_only_for_leavers():
    rng = np.random.default_rng(0)
    churn = rng.random(200) < 0.3
    table = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(200)],
            "plan": rng.choice(["a", "b"], 200),
            "closed on": np.where(churn, "2024-05-01", None),
            "left": np.where(churn, "Yes", "No"),
        }
    )
    data = EventData(table, columns={"customers": {"id": "customer_id"}}, label_column="left")
    with pytest.raises(ChurnDataError, match=r"customers\.closed on is filled") as info:
        cp.ChurnPipeline(model=cp.ChurnModel(n_estimators=10, n_jobs=1)).fit(data, progress=False)
    assert '[columns.customers] "closed on" = "churned_at"' in info.value.config_message


@pytest.mark.parametrize(
    ("present", "churned", "refused"),
    [
        ([1] * 12 + [0] * 88, list(range(12)), True),  # filled exactly for the 12 leavers
        ([1] * 9 + [0] * 91, list(range(9)), False),  # too few to tell
        ([1] * 40 + [0] * 60, list(range(12)), False),  # filled for many who stayed too
        ([1] * 100, list(range(95)), False),  # everyone has it, nearly everyone left
    ],
)
def test_outcome_rule(present, churned, refused):
    customers = pd.DataFrame(
        {"customer_id": range(100), "x": [1.0 if p else None for p in present]}
    )
    if refused:
        with pytest.raises(ChurnDataError, match=r"customers\.x is filled"):
            check_outcome_columns(customers, ["x"], range(100), churned)
    else:
        check_outcome_columns(customers, ["x"], range(100), churned)


# ------------------------------------------------------------------ the command line's terms
def test_cli_errors_show_the_config_line(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame({"customer_id": ["a"], "signup_at": ["2024-01-01"]}).to_csv(
        folder / "customers.csv", index=False
    )
    pd.DataFrame({"user": ["a"], "timestamp": ["2024-01-02"]}).to_csv(
        folder / "activity.csv", index=False
    )
    result = CliRunner().invoke(
        cli.app, ["train", str(folder), "--model", str(tmp_path / "m")], catch_exceptions=False
    )
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert '[columns.activity] your_name = "customer_id"' in line and "columns={" not in line


@pytest.mark.parametrize(
    ("payments", "config_fix", "python_fix"),
    [
        ({"status": ["ok"]}, "[status_map]", "status_map="),
        ({}, '[payments] default_status = "succeeded"', "default_status='succeeded'"),
    ],
)
def test_payment_advice_in_each_users_terms(tmp_path, payments, config_fix, python_fix):
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame({"customer_id": ["a"], "signup_at": ["2024-01-01"]}).to_csv(
        folder / "customers.csv", index=False
    )
    pd.DataFrame(
        {"customer_id": ["a"], "timestamp": ["2024-01-02"], "amount": [5.0], **payments}
    ).to_csv(folder / "payments.csv", index=False)
    with pytest.raises(ChurnDataError) as info:
        EventData.from_directory(folder)
    assert python_fix in str(info.value) and config_fix not in str(info.value)
    result = CliRunner().invoke(
        cli.app, ["train", str(folder), "--model", str(tmp_path / "m")], catch_exceptions=False
    )
    assert result.exit_code == 2 and config_fix in result.stderr
    assert python_fix not in result.stderr
