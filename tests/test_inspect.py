"""churnpredict inspect: which exported file is which table and which column is which, how
sure and why; open choices left for the user; the config it writes loads and trains."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import churnpredict as cp
from churnpredict import ChurnDataError, cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

runner = CliRunner()


def invoices(n_customers: int = 40) -> pd.DataFrame:
    """A shop's invoice export: one row per invoice, irregular orders, numeric customer ids."""
    rng = np.random.default_rng(5)
    rows = []
    for c in range(n_customers):
        day = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
        for _ in range(int(rng.integers(1, 8))):
            rows.append((10000 + c, day, round(float(rng.gamma(2, 30)), 2)))
            day += pd.Timedelta(days=int(rng.integers(3, 90)))
    frame = pd.DataFrame(rows, columns=["CustomerID", "InvoiceDate", "TotalPrice"])
    frame.insert(0, "InvoiceNo", np.arange(536000, 536000 + len(frame)))
    frame["InvoiceDate"] = frame["InvoiceDate"].dt.strftime("%Y-%m-%d")
    return frame


def app_log(cancel: bool = True) -> pd.DataFrame:
    """An app's event log with epoch-millisecond times, pages and song lengths; some users
    cancel (a Cancel click, then the confirmation); a few events are logged out."""
    rng = np.random.default_rng(9)
    rows = []
    start = pd.Timestamp("2024-03-01").value // 10**6
    for u in range(30):
        t = start + int(rng.integers(0, 5 * 86_400_000))
        for _ in range(int(rng.integers(5, 30))):
            page = str(rng.choice(["NextSong", "Home", "Help"]))
            rows.append((str(u), t, page, 200.0 if page == "NextSong" else None, "Logged In"))
            t += int(rng.integers(600_000, 2 * 86_400_000))
        if cancel and u % 5 == 0:
            rows += [
                (str(u), t, "Cancel", None, "Logged In"),
                (str(u), t + 1000, "Cancellation Confirmation", None, "Logged In"),
            ]
    rows.append(("", start, "Home", None, "Logged Out"))
    return pd.DataFrame(rows, columns=["userId", "ts", "page", "length", "auth"])


def snapshot(n: int = 400) -> pd.DataFrame:
    """A one-row-per-customer table with a Yes/No label, a reason filled only for leavers and
    a numeric copy of the label."""
    rng = np.random.default_rng(2)
    left = rng.random(n) < 0.3
    return pd.DataFrame(
        {
            "customerID": [f"{i:04d}-AB" for i in range(n)],
            "tenure": rng.integers(0, 72, n),
            "Contract": rng.choice(["Month-to-month", "One year"], n),
            "MonthlyCharges": rng.uniform(20, 110, n).round(2),
            "Churn Reason": np.where(left, rng.choice(["price", "service"], n), None),
            "Churn Value": left.astype(int),
            "Churn": np.where(left, "Yes", "No"),
        }
    )


def folder(tmp_path, **files: pd.DataFrame):
    for name, frame in files.items():
        path = tmp_path / name.replace("__", ".")
        if ".jsonl" in path.name:
            frame.to_json(path, orient="records", lines=True)
        elif ".parquet" in path.name:
            frame.to_parquet(path)
        else:
            frame.to_csv(path, index=False, sep="\t" if ".tsv" in path.name else ",")
    return tmp_path


def small_model_config(found, path):
    """The written config plus a small model, as a user might add."""
    text = found.to_toml().replace(
        "\n[tables]", "\n[model]\nn_estimators = 20\nn_jobs = 1\n\n[tables]", 1
    )
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ the three kinds of export
def test_an_invoice_file_is_a_shops_purchases(tmp_path):
    found = cp.inspect(folder(tmp_path, sales__csv=invoices()))
    assert found.tables == {"activity": "sales.csv"}
    assert found.config["columns"]["activity"] == {
        "CustomerID": "customer_id",
        "InvoiceDate": "timestamp",
        "TotalPrice": "value",
    }
    assert found.config["derive_customers"] is True and found.config["business"] == "purchases"
    assert "status" not in str(found.config)  # no fake payment status
    rows = found.mappings.set_index("column")
    assert rows.loc["InvoiceNo", "status"] == "not used"
    assert "unique per row" in rows.loc["InvoiceNo", "why"]
    assert rows.loc["CustomerID", "how_sure"] == "sure"
    kind = next(s for s in found.settings if s.key == "value_kind")
    assert kind.value == "amount" and kind.written
    assert found.ready
    data = found.load()
    assert len(data.customers) == 40 and data.activity["value"].dtype == "float64"


def test_an_app_log_with_epoch_times_and_cancellations(tmp_path):
    found = cp.inspect(folder(tmp_path, listening__jsonl=app_log()))
    config = found.config
    assert config["tables"] == {"activity": "listening.jsonl"}
    assert config["time_unit"] == "ms"
    assert config["cancel_event"] == "Cancellation Confirmation"  # the final one of two
    assert config["columns"]["activity"]["ts"] == "timestamp"
    assert config["columns"]["activity"]["page"] == "event"
    # a song length is a duration: never read as money
    assert config["columns"]["activity"]["length"] == "value"
    assert found.label_kind == "cancellation"
    assert any("have no userId" in n for n in found.notes)
    assert config["unknown_customers"] == "drop"  # only rows without an id: nobody is unknown
    data = found.load()
    assert data.customers["churned_at"].notna().sum() == 6


def test_a_snapshot_with_outcome_columns(tmp_path):
    found = cp.inspect(folder(tmp_path, telco__csv=snapshot()))
    config = found.config
    assert config["label_column"] == "Churn"
    assert config["columns"]["customers"] == {"customerID": "customer_id", "MonthlyCharges": "mrr"}
    assert sorted(config["outcome_columns"]) == ["Churn Reason", "Churn Value"]
    why = found.mappings.set_index("column").loc["Churn Reason", "why"]
    assert "describes the outcome" in why
    pipe = cp.ChurnPipeline(model=cp.ChurnModel(n_estimators=20, n_jobs=1))
    pipe.fit(found.load(), progress=False)
    assert not {"Churn Reason", "Churn Value"} & set(pipe.feature_names_)


def test_a_subscription_business_in_four_files(tmp_path):
    rng = np.random.default_rng(1)
    ids = [f"k{i}" for i in range(30)]
    customers = pd.DataFrame(
        {
            "Kundennummer": ids,
            "Anmeldedatum": "2023-01-15",
            "Tarif": rng.choice(["S", "M"], 30),
            "Kuendigungsdatum": [None] * 25 + ["2023-09-01"] * 5,
        }
    )
    months = pd.date_range("2023-02-01", periods=6, freq="MS")
    payments = pd.DataFrame(
        {
            "Kunde": np.repeat(ids, 6),
            "Zahlungsdatum": np.tile(months.strftime("%Y-%m-%d"), 30),
            "Betrag": 20.0,
            "Zahlungsstatus": rng.choice(["bezahlt", "abgelehnt"], 180, p=[0.9, 0.1]),
        }
    )
    tickets = pd.DataFrame(
        {
            "customer": rng.choice(ids, 40),
            "erstellt_am": "2023-03-05",
            "erledigt_am": "2023-03-07",
            "Prioritaet": rng.choice(["hoch", "niedrig"], 40),
        }
    )
    events = pd.DataFrame(
        {
            "user_id": rng.choice(ids, 300),
            "event_ts": pd.Timestamp("2023-02-01")
            + pd.to_timedelta(rng.integers(0, 200, 300), "D"),
            "Ereignis": rng.choice(["login", "export"], 300),
        }
    )
    found = cp.inspect(
        folder(tmp_path, a__csv=customers, b__csv=payments, c__csv=tickets, d__parquet=events)
    )
    assert found.tables == {
        "customers": "a.csv",
        "payments": "b.csv",
        "tickets": "c.csv",
        "activity": "d.parquet",
    }
    columns = found.config["columns"]
    assert columns["customers"] == {
        "Kundennummer": "customer_id",
        "Anmeldedatum": "signup_at",
        "Kuendigungsdatum": "churned_at",
        "Tarif": "plan",
    }
    assert columns["payments"] == {
        "Kunde": "customer_id",
        "Zahlungsdatum": "timestamp",
        "Betrag": "amount",
        "Zahlungsstatus": "status",
    }
    assert found.config["status_map"] == {"bezahlt": "succeeded", "abgelehnt": "failed"}
    assert columns["tickets"] == {
        "customer": "customer_id",
        "erstellt_am": "created_at",
        "erledigt_am": "resolved_at",
        "Prioritaet": "priority",
    }
    assert columns["activity"] == {
        "user_id": "customer_id",
        "event_ts": "timestamp",
        "Ereignis": "event",
    }
    assert found.label_kind == "cancellation" and "derive_customers" not in found.config
    data = found.load()
    assert data.payments["status"].isin(["succeeded", "failed"]).all()


def test_recurring_payments_without_a_status_get_a_declared_default(tmp_path):
    months = pd.date_range("2023-01-03", periods=8, freq="MS")
    billing = pd.DataFrame(
        {
            "account_id": np.repeat([f"a{i}" for i in range(20)], 8),
            "charged_at": np.tile(months, 20),
            "amount": 49.0,
        }
    )
    found = cp.inspect(folder(tmp_path, billing__csv=billing))
    assert found.tables == {"payments": "billing.csv"}
    assert found.config["payments"] == {"default_status": "succeeded"}
    assert any("declared a succeeded payment" in n for n in found.notes)
    assert (found.load().payments["status"] == "succeeded").all()


# ------------------------------------------------------------------ never guess silently
def test_two_candidate_times_are_left_for_the_user(tmp_path):
    log = pd.DataFrame(
        {
            "user_id": ["a", "a", "b"],
            "event_time": ["2024-01-01"] * 3,
            "timestamp": ["2024-01-02"] * 3,
            "event": ["x", "y", "x"],
        }
    )
    found = cp.inspect(folder(tmp_path, log__csv=log))
    assert "timestamp" not in found.config["columns"]["activity"].values()
    assert not found.ready
    text = found.to_toml()
    assert "# TO DO: 'event_time', 'timestamp' could each be activity.timestamp" in text
    assert '# event_time = "timestamp"' in text and '# timestamp = "timestamp"' in text


def test_unusual_names_are_named_as_gaps_in_the_config(tmp_path):
    """Kd, wann and betr mean nothing to inspect: it says so, and the config names the gap."""
    export = pd.DataFrame(
        {
            "Kd": ["1", "1", "2", "2"],
            "wann": ["2024-01-01", "2024-02-01", "2024-01-05", "2024-03-01"],
            "betr": [10.0, 12.5, 8.0, 9.0],
        }
    )
    found = cp.inspect(folder(tmp_path, export__csv=export))
    assert found.tables == {} and not found.ready
    assert found.mappings["maps_to"].isna().all()
    text = found.to_toml()
    assert "# not placed: export.csv (no column is recognised as the customer id)" in text
    assert 'your_name = "customer_id"' in text
    # recognised spellings of the same columns are placed
    renamed = export.rename(columns={"Kd": "Kundennummer", "wann": "event_ts", "betr": "amt"})
    (tmp_path / "export.csv").unlink()
    found = cp.inspect(folder(tmp_path, export__csv=renamed))
    assert found.config["columns"]["activity"] == {
        "Kundennummer": "customer_id",
        "event_ts": "timestamp",
        "amt": "value",
    }


def test_a_time_found_by_its_values_only_is_offered_not_mapped(tmp_path):
    log = pd.DataFrame(
        {"customer_id": ["a", "a", "b"], "zp": ["2024-01-01", "2024-01-03", "2024-01-02"]}
    )
    found = cp.inspect(folder(tmp_path, log__csv=log))
    assert "zp" not in found.config.get("columns", {}).get("activity", {})
    assert '# zp = "timestamp"' in found.to_toml() and not found.ready


def test_dates_whose_order_nothing_settles_are_a_gap(tmp_path):
    log = pd.DataFrame(
        {"user_id": ["a", "a", "b"], "date": ["01/02/2024", "03/04/2024", "05/06/2024"]}
    )
    found = cp.inspect(folder(tmp_path, log__csv=log))
    assert found.config["columns"]["activity"]["date"] == "timestamp"
    assert "# dayfirst = true" in found.to_toml() and not found.ready
    settled = log.assign(date=["13/02/2024", "03/04/2024", "05/06/2024"])
    found = cp.inspect(folder(tmp_path, log__csv=settled))
    assert found.ready and "dayfirst" not in found.to_toml()


def test_two_files_of_one_table_are_left_for_the_user(tmp_path):
    found = cp.inspect(folder(tmp_path, jan__csv=invoices(10), feb__csv=invoices(12)))
    assert found.tables == {} and not found.ready
    assert '# activity = "feb.csv"' in found.to_toml()


def test_other_files_are_listed_as_not_read(tmp_path):
    (tmp_path / "README.md").write_text("about the export")
    (tmp_path / "report.xlsx").write_bytes(b"not really")
    (tmp_path / "empty.csv").write_text("")
    found = cp.inspect(folder(tmp_path, sales__csv=invoices()))
    assert set(found.skipped) == {"README.md", "report.xlsx", "empty.csv"}
    assert "save a spreadsheet as CSV" in found.skipped["report.xlsx"]
    assert "# not read: README.md" in found.to_toml()


@pytest.mark.parametrize("make", ["missing", "empty", "unreadable"])
def test_a_folder_without_tables_is_an_error(tmp_path, make):
    if make == "missing":
        path, match = tmp_path / "nope", "not a directory"
    else:
        path, match = tmp_path, "holds no file that reads as a table"
        if make == "unreadable":
            (tmp_path / "a.csv").write_text("")
    with pytest.raises(ChurnDataError, match=match):
        cp.inspect(path)


# ------------------------------------------------------------------ the config file
def test_odd_column_names_round_trip_through_toml(tmp_path):
    odd = pd.DataFrame(
        {
            'Kunden "Nr"': ["a", "a", "b"],
            "Zeit stempel #1": ["2024-01-01", "2024-01-02", "2024-01-03"],
            "événement": ["x", "y", "x"],
        }
    ).rename(columns={'Kunden "Nr"': "customer id", "Zeit stempel #1": "event time"})
    found = cp.inspect(folder(tmp_path, log__csv=odd))
    text = found.to_toml()
    assert tomllib.loads(text) == found.config
    assert found.config["columns"]["activity"] == {
        "customer id": "customer_id",
        "event time": "timestamp",
    }


def test_write_config_is_atomic_and_keeps_an_existing_file(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    found = cp.inspect(folder(data, sales__csv=invoices()))
    target = tmp_path / "churn.toml"
    target.write_text("# my edits\n")
    with pytest.raises(ChurnDataError, match="exists; choose another file or pass overwrite=True"):
        found.write_config(target)
    assert target.read_text() == "# my edits\n"
    found.write_config(target, overwrite=True)
    assert tomllib.loads(target.read_text()) == found.config
    assert sorted(p.name for p in tmp_path.iterdir()) == ["churn.toml", "d"]  # no temp file


def test_the_written_config_trains_and_scores(tmp_path):
    data = tmp_path / "exports"
    data.mkdir()
    folder(data, sales__csv=invoices(60))
    found = cp.inspect(data)
    config = small_model_config(found, tmp_path / "churn.toml")
    model, out = tmp_path / "model", tmp_path / "at_risk.csv"
    result = runner.invoke(
        cli.app, ["train", str(data), "--model", str(model), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli.app,
        [
            "score",
            str(data),
            "--model",
            str(model),
            "--config",
            str(config),
            "--as-of",
            f"{found.as_of:%Y-%m-%d}",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    ranked = pd.read_csv(out)
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert "expected_spend" in ranked.columns  # a shop: spend, not MRR


# ------------------------------------------------------------------ the command line
def test_cli_inspect_prints_and_writes(tmp_path):
    data = tmp_path / "exports"
    data.mkdir()
    folder(data, sales__csv=invoices())
    config = tmp_path / "churn.toml"
    result = runner.invoke(cli.app, ["inspect", str(data), "--write-config", str(config)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "sales.csv -> activity (sure)" in out
    assert "activity.customer_id" in out and "unique per row" in out
    assert f"--as-of {found_as_of(data)}" in out and "churnpredict train" in out
    assert tomllib.loads(config.read_text())["tables"] == {"activity": "sales.csv"}
    again = runner.invoke(cli.app, ["inspect", str(data), "--write-config", str(config)])
    assert again.exit_code == 2 and "add --force" in again.stderr
    forced = runner.invoke(cli.app, ["inspect", str(data), "-w", str(config), "--force"])
    assert forced.exit_code == 0


def found_as_of(data):
    return f"{cp.inspect(data).as_of:%Y-%m-%d}"


@pytest.mark.parametrize(
    ("args", "message"),
    [(["nope"], "no such directory"), (["{data}", "-w", "c.txt"], "give a .toml file name")],
)
def test_cli_inspect_bad_input_is_one_line_exit_2(tmp_path, args, message):
    data = tmp_path / "exports"
    data.mkdir()
    folder(data, sales__csv=invoices())
    args = [a.format(data=data) for a in args]
    result = runner.invoke(cli.app, ["inspect", *args])
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
