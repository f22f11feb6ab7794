"""Messy and hostile inputs: ids, dates, blanks, broken files, infinite amounts, lifetimes.

Each test replays one example of the input side of issue 10 (cases 6, 7, 8 and 9) and pins
the outcome: a correct reading, or one ChurnDataError / exit 2 naming the file or table, the
column and the fix.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churnpredict import ChurnDataError, DataQualityWarning, EventData
from churnpredict._reading import read_table
from churnpredict.cli import BadInput, _parse_date, app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


def folder_with(tmp_path, **files):
    """A data folder holding the given files (name -> text), plus a valid activity table."""
    files.setdefault("activity.csv", "customer_id,timestamp\n00345,2024-02-01\n7,2024-02-02\n")
    for name, text in files.items():
        write(tmp_path, name, text)
    return tmp_path


CUSTOMERS = "customer_id,signup_at\n00345,2024-01-01\n7,2024-01-02\n"


# ---------------------------------------------------------------- case 6: ids and dates
def test_csv_ids_keep_leading_zeros(tmp_path):
    """`"00345"` stays `"00345"` (not 345) from CSV and JSON Lines."""
    write(tmp_path, "customers.csv", CUSTOMERS)
    assert read_table(tmp_path / "customers.csv")["customer_id"].tolist() == ["00345", "7"]
    write(tmp_path, "c.jsonl", '{"customer_id": "00345"}\n{"customer_id": 7}\n')
    assert read_table(tmp_path / "c.jsonl")["customer_id"].tolist() == ["00345", "7"]
    data = EventData.from_directory(folder_with(tmp_path, **{"customers.csv": CUSTOMERS}))
    assert data.customers["customer_id"].tolist() == ["00345", "7"]
    assert sorted(data.activity["customer_id"]) == ["00345", "7"]


def test_007_and_7_are_two_customers(tmp_path):
    """`"007"` and `"7"` were reported as duplicates once read as numbers."""
    text = "customer_id,signup_at\n007,2024-01-01\n7,2024-01-02\n"
    folder = folder_with(
        tmp_path,
        **{
            "customers.csv": text,
            "activity.csv": "customer_id,timestamp\n007,2024-02-01\n7,2024-02-01\n",
        },
    )
    data = EventData.from_directory(folder)
    assert data.customers["customer_id"].tolist() == ["007", "7"]
    assert data.activity["customer_id"].tolist() == ["007", "7"]


def test_int_and_text_ids_across_tables_are_an_error():
    """int 345 in customers and str "345" in events made two customers, silently."""
    customers = pd.DataFrame({"customer_id": [345], "signup_at": ["2024-01-01"]})
    activity = pd.DataFrame({"customer_id": ["345"], "timestamp": ["2024-02-01"]})
    with pytest.raises(
        ChurnDataError,
        match=r"activity\.customer_id holds text ids but "
        r"customers\.customer_id holds integer ids.*"
        r"\.astype\(str\)",
    ):
        EventData(customers, activity=activity)
    same = EventData(customers, activity=activity.assign(customer_id=[345]))
    assert same.activity["customer_id"].tolist() == [345]


def test_mixed_ids_within_a_column_are_an_error():
    customers = pd.DataFrame({"customer_id": [345, "345"], "signup_at": ["2024-01-01"] * 2})
    with pytest.raises(
        ChurnDataError,
        match=r"customers\.customer_id mixes numbers and text"
        r".*astype\(str\)",
    ):
        EventData(customers)


def test_numeric_parquet_ids_meet_text_csv_ids(tmp_path):
    """A Parquet table keeps numbers; next to CSV text ids their exact text is used."""
    write(tmp_path, "customers.csv", "customer_id,signup_at\n345,2024-01-01\n0345,2024-01-01\n")
    pd.DataFrame({"customer_id": [345], "timestamp": ["2024-02-01"]}).to_parquet(
        tmp_path / "activity.parquet"
    )
    data = EventData.from_directory(tmp_path)
    assert data.activity["customer_id"].tolist() == ["345"]  # not "0345"


def test_day_first_dates_settled_by_an_unambiguous_value():
    """`09/10/2011 14:00` was read as September 10; `13/10/2011` proves the column day-first."""
    customers = pd.DataFrame(
        {"customer_id": ["a", "b"], "signup_at": ["09/10/2011 14:00", "13/10/2011 09:30"]}
    )
    data = EventData(customers)
    assert data.customers["signup_at"].tolist() == [
        pd.Timestamp("2011-10-09 14:00"),
        pd.Timestamp("2011-10-13 09:30"),
    ]


def test_day_first_dates_settled_by_another_table():
    customers = pd.DataFrame({"customer_id": ["a"], "signup_at": ["09/10/2011 14:00"]})
    activity = pd.DataFrame({"customer_id": ["a"], "timestamp": ["25/12/2011 08:00"]})
    data = EventData(customers, activity=activity)
    assert data.customers["signup_at"].iloc[0] == pd.Timestamp("2011-10-09 14:00")


def test_ambiguous_dates_are_refused_not_guessed():
    customers = pd.DataFrame(
        {"customer_id": ["a", "b"], "signup_at": ["09/10/2011 14:00", "03/04/2011"]}
    )
    with pytest.raises(
        ChurnDataError,
        match=r"customers\.signup_at has dates such as .*"
        r"'09/10/2011 14:00'.*day-first or month-first.*"
        r"dayfirst=.*date_format=",
    ):
        EventData(customers)
    assert EventData(customers, dayfirst=True).customers["signup_at"].tolist() == [
        pd.Timestamp("2011-10-09 14:00"),
        pd.Timestamp("2011-04-03"),
    ]
    assert EventData(customers, dayfirst=False).customers["signup_at"].tolist() == [
        pd.Timestamp("2011-09-10 14:00"),
        pd.Timestamp("2011-03-04"),
    ]
    fmt = EventData(
        customers.assign(signup_at=["09/10/2011 14:00", "03/04/2011 00:00"]),
        date_format="%d/%m/%Y %H:%M",
    )
    assert fmt.customers["signup_at"].iloc[1] == pd.Timestamp("2011-04-03")


def test_contradicting_date_orders_are_refused():
    customers = pd.DataFrame({"customer_id": ["a", "b"], "signup_at": ["13/10/2011", "10/13/2011"]})
    with pytest.raises(ChurnDataError, match=r"customers\.signup_at mixes day-first dates"):
        EventData(customers)
    with pytest.raises(ChurnDataError, match=r"not day-first dates \{'10/13/2011'\}"):
        EventData(customers, dayfirst=True)


def test_iso_dates_are_never_reordered_by_dayfirst():
    customers = pd.DataFrame({"customer_id": ["a", "b"], "signup_at": ["2024-01-05", "09/10/2011"]})
    data = EventData(customers, dayfirst=True)
    assert data.customers["signup_at"].tolist() == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2011-10-09"),
    ]


def test_cli_dayfirst_option_and_config(tmp_path):
    customers = "customer_id,signup_at,churned_at\na,09/10/2011 14:00,\nb,03/04/2011,\n"
    activity = "customer_id,timestamp\na,10/10/2011\nb,05/04/2011\n"
    (tmp_path / "d").mkdir()
    folder = folder_with(tmp_path / "d", **{"customers.csv": customers, "activity.csv": activity})
    refused = invoke("metrics", folder)
    assert refused.exit_code == 2
    assert "day-first or month-first" in refused.stderr and "--dayfirst" in refused.stderr
    assert invoke("metrics", folder, "--dayfirst").exit_code == 0
    config = write(tmp_path, "churn.toml", "dayfirst = true\n")
    assert invoke("metrics", folder, "--config", config).exit_code == 0
    fmt = invoke("metrics", folder, "--date-format", "%d/%m/%Y")
    assert fmt.exit_code == 2 and "date_format='%d/%m/%Y'" in fmt.stderr  # 14:00 left over
    bad = write(tmp_path, "bad.toml", 'dayfirst = "yes"\n')
    result = invoke("metrics", folder, "--config", bad)
    assert result.exit_code == 2 and "dayfirst = 'yes'; use true or false" in result.stderr


@pytest.mark.parametrize("value", ["09/09/2011", "2011/09/09", "9 Sept 2011", "20110909"])
def test_as_of_is_iso_only(value):
    with pytest.raises(BadInput, match=r"is not a date in ISO form.*YYYY-MM-DD"):
        _parse_date(value)
    assert _parse_date("2011-09-09T14:30") == pd.Timestamp("2011-09-09 14:30")


def test_as_of_09_09_2011_is_exit_2(tmp_path):
    write(tmp_path, "customers.csv", CUSTOMERS)
    result = invoke(
        "score",
        tmp_path,
        "--model",
        tmp_path / "m",
        "--as-of",
        "09/09/2011",
        "--out",
        tmp_path / "x.csv",
    )
    assert result.exit_code == 2
    assert "--as-of '09/09/2011' is not a date" in result.stderr


# ---------------------------------------------------------------- case 7: ordinary exports
def test_empty_churn_type_is_missing():
    customers = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "signup_at": ["2024-01-01"] * 3,
            "churned_at": [None, "2024-03-01", None],
            "churn_type": ["", "voluntary", "  "],
        }
    )
    data = EventData(customers)
    assert data.customers["churn_type"].tolist() == [None, "voluntary", None]


def test_empty_strings_are_missing_in_every_column():
    customers = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "signup_at": ["2024-01-01"] * 2,
            "plan": ["", "pro"],
            "mrr": ["", "10"],
        }
    )
    tickets = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "created_at": ["2024-02-01"] * 2,
            "resolved_at": ["", "2024-02-03"],
            "csat": [" ", "4"],
        }
    )
    data = EventData(customers, tickets=tickets)
    assert data.customers["plan"].isna().tolist() == [True, False]
    assert np.isnan(data.customers["mrr"].iloc[0]) and data.customers["mrr"].iloc[1] == 10
    assert data.tickets["resolved_at"].isna().tolist() == [True, False]
    assert np.isnan(data.tickets["csat"].iloc[0])


def test_all_empty_optional_timestamp_columns_from_csv(tmp_path):
    """churned_at and resolved_at empty for everyone: pandas reads float64 NaN."""
    write(
        tmp_path,
        "customers.csv",
        "customer_id,signup_at,churned_at,churn_type\n1,2024-01-01,,\n2,2024-01-02,,\n",
    )
    write(tmp_path, "tickets.csv", "customer_id,created_at,resolved_at\n1,2024-02-01,\n")
    data = EventData.from_directory(tmp_path)
    assert data.customers["churned_at"].dtype == "datetime64[ns]"
    assert data.customers["churned_at"].isna().all()
    assert data.tickets["resolved_at"].dtype == "datetime64[ns]"
    assert data.tickets["resolved_at"].isna().all()


# ---------------------------------------------------------------- case 8: broken files
BROKEN_FILES = [
    pytest.param(
        "customers.csv", b"", r"customers\.csv is empty \(no header, no rows\)", id="zero-bytes"
    ),
    pytest.param("customers.csv", b"\n\n", r"customers\.csv is empty", id="blank-lines"),
    pytest.param(
        "customers.csv",
        b"customer_id,signup_at\n",
        r"customers\.csv has column names but no rows",
        id="header-only",
    ),
    pytest.param(
        "customers.parquet",
        b"PAR1 this is not parquet PAR1",
        r"customers\.parquet cannot be read as Parquet .*write it again",
        id="parquet",
    ),
    pytest.param(
        "customers.jsonl",
        b'{"customer_id": 1, "signup_at": "2024-01-01"}\n{oops\n',
        r"customers\.jsonl cannot be read as JSON Lines .*one JSON object per line",
        id="bad-jsonl",
    ),
    pytest.param(
        "customers.csv",
        b"customer_id,signup_at\n1,\xff\xfe2024\n",
        r"customers\.csv is not UTF-8 text",
        id="not-utf8",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), BROKEN_FILES)
def test_broken_files_are_a_data_error_naming_the_file(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    write(tmp_path, "activity.csv", "customer_id,timestamp\n1,2024-02-01\n")
    with pytest.raises(ChurnDataError, match=message):
        EventData.from_directory(tmp_path)
    result = invoke("metrics", tmp_path)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and name in result.stderr
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr


@pytest.mark.parametrize("stamp", ["3000-01-01", "1500-06-01", "1677-09-22 00:00:01", "2262-04-10"])
def test_dates_outside_the_range_are_a_data_error(tmp_path, stamp):
    customers = pd.DataFrame({"customer_id": [1, 2], "signup_at": ["2024-01-01", stamp]})
    with pytest.raises(
        ChurnDataError,
        match=r"customers\.signup_at has 1 (times|values) "
        r".*1700-01-01 \.\. 2199-12-31",
    ):
        EventData(customers)
    write(tmp_path, "customers.csv", f"customer_id,signup_at\n1,2024-01-01\n2,{stamp}\n")
    write(tmp_path, "activity.csv", "customer_id,timestamp\n1,2024-02-01\n")
    result = invoke("metrics", tmp_path)
    assert result.exit_code == 2 and "customers.signup_at" in result.stderr


def test_as_of_outside_the_range_is_exit_2(tmp_path):
    result = invoke(
        "score",
        tmp_path,
        "--model",
        tmp_path / "m",
        "--as-of",
        "3000-01-01",
        "--out",
        tmp_path / "x.csv",
    )
    assert result.exit_code == 2 and "1700-01-01 and 2199-12-31" in result.stderr


# ---------------------------------------------------------------- finite amounts
@pytest.mark.parametrize("bad", [np.inf, -np.inf, "inf"])
def test_infinite_amounts_and_values_are_refused(bad):
    customers = pd.DataFrame({"customer_id": [1, 2], "signup_at": ["2024-01-01"] * 2})
    payments = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "timestamp": ["2024-02-01"] * 2,
            "amount": [10.0, bad],
            "status": "succeeded",
        }
    )
    with pytest.raises(ChurnDataError, match=r"payments\.amount has 1 infinite values.*finite"):
        EventData(customers, payments=payments)
    activity = pd.DataFrame(
        {"customer_id": [1, 2], "timestamp": ["2024-02-01"] * 2, "value": [1.0, bad]}
    )
    with pytest.raises(ChurnDataError, match=r"activity\.value has 1 infinite values"):
        EventData(customers, activity=activity)


def test_huge_finite_amounts_are_accepted_while_their_sums_stay_finite():
    customers = pd.DataFrame({"customer_id": [1, 2], "signup_at": ["2024-01-01"] * 2})
    payments = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "timestamp": ["2024-02-01"] * 2,
            "amount": [1e17, 1e300],
            "status": "succeeded",
        }
    )
    data = EventData(customers, payments=payments)
    assert data.payments["amount"].tolist() == [1e17, 1e300]
    # 1e308: finite, but a sum over it (or it times months of revenue) is not
    with pytest.raises(ChurnDataError, match=r"payments.amount adds up to more than 1.8e\+304"):
        EventData(customers, payments=payments.assign(amount=[1e17, 1e308]))


# ---------------------------------------------------------------- case 9: lifetimes
def test_events_before_signup_and_after_churn_warn_with_counts():
    """Kept before signup (history), dropped after a cancellation; one warning with counts."""
    customers = pd.DataFrame(
        {"customer_id": [1, 2], "signup_at": ["2024-01-10"] * 2, "churned_at": ["2024-03-01", None]}
    )
    activity = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2],
            "timestamp": ["2024-01-01", "2024-02-01", "2024-03-05", "2024-01-05", "2024-04-01"],
        }
    )
    payments = pd.DataFrame(
        {
            "customer_id": [1, 1],
            "timestamp": ["2024-03-01", "2024-04-01"],
            "amount": [5.0, 5.0],
            "status": "succeeded",
        }
    )
    with pytest.warns(
        DataQualityWarning,
        match=r"activity: 2 before signup_at \(kept\), 1 "
        r"after churned_at \(dropped\); payments: 0 "
        r"before signup_at \(kept\), 1 after",
    ):
        data = EventData(customers, activity=activity, payments=payments)
    assert data.activity["timestamp"].tolist() == [
        pd.Timestamp(t) for t in ("2024-01-01", "2024-02-01", "2024-01-05", "2024-04-01")
    ]
    # an event at the very moment of the cancellation belongs to the lifetime
    assert data.payments["timestamp"].tolist() == [pd.Timestamp("2024-03-01")]


def test_events_inside_the_lifetime_raise_no_warning():
    customers = pd.DataFrame(
        {"customer_id": [1], "signup_at": ["2024-01-10"], "churned_at": ["2024-03-01"]}
    )
    activity = pd.DataFrame({"customer_id": [1, 1], "timestamp": ["2024-01-10", "2024-03-01"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(EventData(customers, activity=activity).activity) == 2


def test_a_table_whose_every_event_is_after_churn_is_kept_empty():
    customers = pd.DataFrame(
        {"customer_id": ["c0"], "signup_at": ["2024-01-01"], "churned_at": ["2024-01-01"]}
    )
    tickets = pd.DataFrame({"customer_id": ["c0"], "created_at": ["2024-01-01 01:00"]})
    with pytest.warns(DataQualityWarning, match=r"tickets: 0 before signup_at \(kept\), 1 after"):
        data = EventData(customers, tickets=tickets)
    assert data.tickets is not None and len(data.tickets) == 0
    assert len(data.event_codes("tickets")) == 0


PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3
NUL_IDS = pd.DataFrame(
    {"customer_id": ["x\x00y1", "x\x00y2"], "signup_at": ["2024-01-01", "2024-01-02"]}
)


@pytest.mark.skipif(PANDAS_3, reason="pandas 3 compares text with NUL characters whole")
def test_ids_with_nul_are_refused_before_pandas_3():
    # pandas 2 hashes object text as C strings: "x\0y1" and "x\0y2" would be one customer
    with pytest.raises(ChurnDataError, match="NUL character"):
        EventData(NUL_IDS)


@pytest.mark.skipif(not PANDAS_3, reason="pandas before 3 refuses these ids (test above)")
def test_ids_differing_after_a_nul_stay_two_customers():
    activity = pd.DataFrame(
        {
            "customer_id": ["x\x00y1", "x\x00y2", "x\x00y2"],
            "timestamp": ["2024-02-01", "2024-02-01", "2024-02-02"],
        }
    )
    data = EventData(NUL_IDS, activity=activity)
    counts = data.activity.groupby("customer_id").size()
    assert counts.to_dict() == {"x\x00y1": 1, "x\x00y2": 2}


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"customer_id": np.arange(50), "value": np.arange(50.0)}),
        pd.DataFrame(
            {"a": np.arange(50), "b": np.arange(50.0)}, index=pd.Index(np.arange(50) * 2, name="k")
        ),
        pd.DataFrame({0: np.arange(50), 1: list("ab") * 25}),
        pd.DataFrame(
            {"a": np.arange(50)},
            index=pd.MultiIndex.from_arrays([np.arange(50), np.arange(50) % 3], names=["x", "y"]),
        ),
        pd.DataFrame(
            {
                "event": pd.Categorical(list("xyz") * 16 + ["x", "y"]),
                "t": pd.date_range("2024-01-01", periods=50, tz="Europe/Paris"),
                "n": pd.array([1, None] * 25, dtype="Int64"),
                "s": ["0042", "", None, "=1+1", "a\rb"] * 10,
            }
        ),
    ],
    ids=["plain", "stored index", "int names", "multiindex", "mixed types"],
)
def test_a_big_parquet_file_read_a_column_at_a_time_is_the_same_frame(tmp_path, monkeypatch, frame):
    """Big Parquet files are read a column at a time (each column's decoding freed before
    the next): the frame is pandas' own reading of the whole file, dtypes, index and column
    names included, whatever the file holds."""
    import churnpredict._reading as reading

    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    monkeypatch.setattr(reading, "_COLUMN_AT_A_TIME_ROWS", 10)
    got = reading._read_parquet(path)
    want = pd.read_parquet(path)
    pd.testing.assert_frame_equal(got, want)
    assert list(got.columns) == list(want.columns) and got.index.equals(want.index)
