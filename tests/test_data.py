"""EventData: validation errors name table, column and fix; timestamps are normalised once."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from churnpredict import ChurnDataError, DataQualityWarning, EventData


def customers(**overrides):
    """Three customers: 1 and 2 signed up in January, 3 in February; 2 cancelled in March."""
    frame = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "signup_at": ["2024-01-01", "2024-01-15", "2024-02-01"],
            "churned_at": [None, "2024-03-10", None],
            "plan": ["basic", "pro", "basic"],
        }
    )
    for key, value in overrides.items():
        frame[key] = value
    return frame


def payments(**overrides):
    """Four payment attempts: customer 2's card fails once before it succeeds."""
    frame = pd.DataFrame(
        {
            "customer_id": [1, 2, 2, 3],
            "timestamp": ["2024-02-01", "2024-02-15", "2024-02-18", "2024-03-01"],
            "amount": [10.0, 20.0, 20.0, 10.0],
            "status": ["succeeded", "failed", "succeeded", "succeeded"],
        }
    )
    for key, value in overrides.items():
        frame[key] = value
    return frame


def activity():
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3],
            "timestamp": ["2024-02-03", "2024-02-01", "2024-02-10", "2024-03-02"],
        }
    )


def tickets(**overrides):
    frame = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "created_at": ["2024-02-05", "2024-02-20"],
            "resolved_at": ["2024-02-06", None],
            "csat": [5, None],
        }
    )
    for key, value in overrides.items():
        frame[key] = value
    return frame


def test_valid_tables_are_typed_and_sorted():
    data = EventData(customers(), activity=activity(), payments=payments(), tickets=tickets())
    assert data.customers["signup_at"].dtype == "datetime64[ns]"
    assert data.activity["timestamp"].is_monotonic_increasing  # sorted by (customer, time)
    assert data.activity["timestamp"].iloc[0] == pd.Timestamp("2024-02-01")
    assert list(data.payments["status"].cat.categories) == ["succeeded", "failed", "refunded"]
    assert data.tickets["resolved_at"].isna().tolist() == [False, True]
    assert repr(data) == "EventData(customers=3, activity=4, payments=4, tickets=2)"


def test_aware_timestamps_are_converted_to_utc():
    """A customer signing up at 01:00+02:00 signed up at 23:00 UTC the day before."""
    c = customers(
        signup_at=["2024-01-01T01:00:00+02:00", "2024-01-15T00:00:00Z", "2024-02-01T00:00:00+00:00"]
    )
    data = EventData(c, activity=activity())
    assert data.customers["signup_at"].iloc[0] == pd.Timestamp("2023-12-31 23:00")
    aware = pd.Series(pd.to_datetime(["2024-02-01", "2024-02-03", "2024-02-10", "2024-03-02"]))
    a = activity().assign(timestamp=aware.dt.tz_localize("Europe/Berlin"))
    data = EventData(customers(), activity=a)
    assert data.activity["timestamp"].dt.tz is None
    assert data.activity["timestamp"].min() == pd.Timestamp("2024-01-31 23:00")


def test_column_and_status_mapping():
    c = customers().rename(columns={"customer_id": "user", "signup_at": "created"})
    p = payments(status=["paid", "declined", "PAID", "paid"]).rename(
        columns={"customer_id": "user", "timestamp": "charged_at"}
    )
    data = EventData(
        c,
        payments=p,
        columns={
            "customers": {"user": "customer_id", "created": "signup_at"},
            "payments": {"user": "customer_id", "charged_at": "timestamp"},
        },
        status_map={"paid": "succeeded", "declined": "failed"},
    )
    assert data.payments["status"].astype(str).tolist() == [
        "succeeded",
        "failed",
        "succeeded",
        "succeeded",
    ]


def test_string_ids_in_events_do_not_silently_match_integer_customer_ids():
    """345 and '345' are different values: the mismatch is an error naming the fix."""
    a = activity().assign(customer_id=lambda f: f["customer_id"].astype(str))
    with pytest.raises(
        ChurnDataError,
        match=r"activity\.customer_id holds text ids but "
        r"customers\.customer_id holds integer ids.*"
        r"\.astype\(str\)",
    ):
        EventData(customers(), activity=a)
    c = customers().assign(customer_id=lambda f: f["customer_id"].astype(str))
    assert len(EventData(c, activity=a).activity) == 4


BAD_INPUTS = [
    pytest.param(
        dict(customers=customers().drop(columns="signup_at")),
        r"customers is missing required column\(s\) \['signup_at'\].*columns=",
        id="missing-column",
    ),
    pytest.param(
        dict(customers=customers(signup_at=["2024-01-01", "not a date", "2024-02-01"])),
        r"customers\.signup_at has 1 values that are not timestamps: \{'not a date'\}",
        id="unparseable-timestamp",
    ),
    pytest.param(
        dict(customers=customers(signup_at=["2024-01-01", "2024-01-15T00:00+02:00", "2024-02-01"])),
        r"customers\.signup_at mixes time zones",
        id="mixed-time-zones",
    ),
    pytest.param(
        dict(customers=customers(customer_id=[1, 1, 3])),
        r"customers\.customer_id has 1 duplicated ids \{1\}",
        id="duplicate-ids",
    ),
    pytest.param(
        dict(customers=customers(), payments=payments(amount=[10.0, -5.0, 20.0, 10.0])),
        r"payments\.amount has 1 negative values \{-5\.0\}.*refunded",
        id="negative-amount",
    ),
    pytest.param(
        dict(customers=customers(), payments=payments(status=["ok", "failed", "succeeded", "ok"])),
        r"payments\.status has values \{'ok'\}; expected succeeded/failed/refunded; "
        r"map them with status_map=",
        id="unknown-status",
    ),
    pytest.param(
        dict(customers=customers(), activity=activity().iloc[:0]),
        r"activity is empty \(0 rows\)",
        id="empty-table",
    ),
    pytest.param(dict(customers=customers().iloc[:0]), r"customers is empty", id="empty-customers"),
    pytest.param(
        dict(customers=customers(), activity=activity().drop(columns="timestamp")),
        r"activity is missing required column\(s\) \['timestamp'\]",
        id="missing-event-column",
    ),
    pytest.param(
        dict(customers=customers(churned_at=["2023-01-01", None, None])),
        r"customers\.churned_at is before signup_at",
        id="churn-before-signup",
    ),
    pytest.param(
        dict(customers=customers(), tickets=tickets(csat=[9, None])),
        r"tickets\.csat has values \{9(\.0)?\} outside 1-5",
        id="csat-range",
    ),
    pytest.param(
        dict(customers=customers(), payments=payments(amount=["10", "x", "1", "2"])),
        r"payments\.amount has 1 non-numeric values \{'x'\}",
        id="non-numeric-amount",
    ),
    pytest.param(
        dict(customers=customers(churn_type=["quit", None, None])),
        r"customers\.churn_type has values \{'quit'\}; expected voluntary/involuntary",
        id="churn-type",
    ),
    pytest.param(
        dict(customers=customers(), activity=activity().assign(timestamp=1.7e12)),
        r"activity\.timestamp holds numbers.*unit='ms'",
        id="epoch-numbers",
    ),
]


@pytest.mark.parametrize(("tables", "message"), BAD_INPUTS)
def test_bad_input_names_table_column_and_fix(tables, message):
    with pytest.raises(ChurnDataError, match=message):
        EventData(**tables)


def test_unknown_customers_warn_count_and_drop():
    a = pd.concat(
        [
            activity(),
            pd.DataFrame({"customer_id": [99, 98], "timestamp": ["2024-02-01", "2024-02-02"]}),
        ]
    )
    with pytest.warns(
        DataQualityWarning,
        match=r"activity\.customer_id: 2 of 6 events belong to "
        r"customers not in customers",
    ):
        data = EventData(customers(), activity=a)
    assert len(data.activity) == 4
    assert any("2 of 6" in note for note in data.notes)


def test_unknown_customers_error_when_asked():
    a = pd.concat([activity(), pd.DataFrame({"customer_id": [99], "timestamp": ["2024-02-01"]})])
    with pytest.raises(ChurnDataError, match=r"activity\.customer_id: 1 of 5 events .* cannot be"):
        EventData(customers(), activity=a, unknown_customers="error")


def test_unknown_customers_drop_is_silent():
    a = pd.concat([activity(), pd.DataFrame({"customer_id": [99], "timestamp": ["2024-02-01"]})])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = EventData(customers(), activity=a, unknown_customers="drop")
    assert len(data.activity) == 4


def test_column_mapping_naming_an_absent_column():
    with pytest.raises(ChurnDataError, match=r"customers: columns= maps \['uid'\]"):
        EventData(customers(), columns={"customers": {"uid": "customer_id"}})


def test_from_directory_reads_csv_and_parquet(tmp_path):
    customers().to_csv(tmp_path / "customers.csv", index=False)
    payments().to_parquet(tmp_path / "payments.parquet")
    data = EventData.from_directory(tmp_path)
    assert data.activity is None and len(data.payments) == 4
    assert "no activity table: its feature family is skipped" in data.notes


def test_from_directory_without_customers(tmp_path):
    payments().to_csv(tmp_path / "payments.csv", index=False)
    with pytest.raises(ChurnDataError, match=r"customers table not found in .*customers\.csv"):
        EventData.from_directory(tmp_path)


def test_config_file_maps_columns(tmp_path):
    customers().rename(columns={"customer_id": "user"}).to_csv(
        tmp_path / "customers.csv", index=False
    )
    config = tmp_path / "churn.toml"
    config.write_text('[columns.customers]\nuser = "customer_id"\n')
    data = EventData.from_directory(tmp_path, config=config)
    assert data.customers["customer_id"].tolist() == ["1", "2", "3"]  # ids are read as text


def test_snapshot_table_labels():
    snap = pd.DataFrame({"id": ["a", "b", "c"], "Churn": ["Yes", "No", "No"], "age": [30, 40, 50]})
    data = EventData(snap, columns={"customers": {"id": "customer_id"}}, label_column="Churn")
    assert data.is_snapshot
    assert data.customers["Churn"].tolist() == [1, 0, 0]


def test_snapshot_label_needs_positive_value_when_ambiguous():
    snap = pd.DataFrame({"customer_id": [1, 2], "status": ["gone", "here"]})
    with pytest.raises(ChurnDataError, match=r"customers\.status .*positive_label="):
        EventData(snap, label_column="status")
    data = EventData(snap, label_column="status", positive_label="gone")
    assert data.customers["status"].tolist() == [1, 0]


def test_cut_removes_everything_at_or_after_the_time():
    data = EventData(customers(), activity=activity(), payments=payments(), tickets=tickets())
    cut = data.cut("2024-02-18")
    assert cut.payments["timestamp"].max() < pd.Timestamp("2024-02-18")
    assert cut.customers["customer_id"].tolist() == [1, 2, 3]
    assert len(data.cut("2024-01-20").customers) == 2  # customer 3 had not signed up yet
    assert cut.customers["churned_at"].isna().all()


def test_cut_blanks_future_resolution():
    data = EventData(customers(), tickets=tickets(resolved_at=["2024-03-01", None]))
    cut = data.cut("2024-02-10")
    assert np.isnan(cut.tickets["csat"].iloc[0]) and cut.tickets["resolved_at"].isna().all()


def test_cached_computes_once_per_key_and_cut_starts_afresh():
    import churnpredict as cp

    data = cp.load_sample()
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    assert data.cached(("test", "a"), compute) == 1
    assert data.cached(("test", "a"), compute) == 1  # reused
    assert data.cached(("test", "b"), compute) == 2
    assert data.cut("2024-06-01").cached(("test", "a"), compute) == 3  # a new cache
